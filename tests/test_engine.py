"""The engine's contracts: flat buffers, layer behaviour, batch norm modes, reproducibility, registries."""

import numpy as np
import pytest

from nncli.config.schema import MLPConfig, NeuronConfig, RunConfig
from nncli.engine.activations import ACTIVATIONS, GELU
from nncli.engine.layers import Dropout, Linear
from nncli.engine.losses import LOSSES
from nncli.engine.models import MODELS, mlp
from nncli.engine.module import constant
from nncli.engine.norm import BatchNorm1d, LayerNorm
from nncli.engine.optimizers import OPTIMIZERS
from nncli.engine.parameters import Parameter, ParameterBuffer
from nncli.errors import UnknownNameError
from nncli.registry import Registry


def test_parameters_are_views_of_one_flat_buffer():
    model = mlp(in_features=3, out_features=2, hidden_sizes=[4], rng=np.random.default_rng(0))
    buf = ParameterBuffer(model.named_parameters())
    assert buf.names[:2] == ["layers.0.weight", "layers.2.weight"]  # weights first: the decayed slice
    assert buf.n_decay == 4 * 3 + 2 * 4
    for _, p in model.named_parameters():
        assert np.shares_memory(p.data, buf.data) and np.shares_memory(p.grad, buf.grad)
        assert p.data.flags.c_contiguous
    buf.data[:] = 7.0
    assert np.all(model.layers[0].weight.data == 7.0)


def test_linear_matches_formula_and_fills_gradients():
    lin = Linear(2, 3, rng=np.random.default_rng(1))
    lin.weight.data[:] = [[1, 2], [3, 4], [5, 6]]
    lin.bias.data[:] = [0.5, -0.5, 1]
    x = np.array([[1.0, -1.0]])
    np.testing.assert_array_equal(lin.forward(x), [[-0.5, -1.5, 0.0]])  # x Wᵀ + b
    g = np.array([[1.0, 0.0, 2.0]])
    np.testing.assert_array_equal(lin.backward(g), [[11.0, 14.0]])  # g W
    np.testing.assert_array_equal(lin.weight.grad, [[1, -1], [0, 0], [2, -2]])  # gᵀ x
    np.testing.assert_array_equal(lin.bias.grad, [1, 0, 2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("fan_in", "fan_out", "shape"), [(1, 5, (7,)), (4, 1, (7,)), (1, 1, (3, 4)), (4, 1, (3, 4))]
)
def test_linear_outer_products_equal_matmul_exactly(fan_in, fan_out, shape, dtype):
    """One input or one output feature takes a broadcast product instead of gemm: the same numbers."""
    rng = np.random.default_rng(2)
    lin = Linear(fan_in, fan_out, rng=rng, dtype=dtype)
    x = rng.standard_normal((*shape, fan_in)).astype(dtype)
    g = rng.standard_normal((*shape, fan_out)).astype(dtype)
    w, b = lin.weight.data, lin.bias.data
    np.testing.assert_array_equal(lin.forward(x), np.matmul(x, w.T) + b)
    dx = lin.backward(g)
    assert dx.dtype == dtype and dx.shape == x.shape
    np.testing.assert_array_equal(dx, np.matmul(g, w))
    np.testing.assert_array_equal(lin.weight.grad, g.reshape(-1, fan_out).T @ x.reshape(-1, fan_in))


def test_constant_is_a_shared_read_only_0d_array_of_its_dtype():
    c = constant(0.1, np.dtype(np.float32))
    assert c.shape == () and c.dtype == np.float32 and not c.flags.writeable
    assert constant(0.1, np.dtype(np.float32)) is c
    x = np.linspace(-1, 1, 7, dtype=np.float32)
    np.testing.assert_array_equal(x * c, x * 0.1)  # the value a Python float would give


def test_linear_default_init_is_pytorch_uniform_bound():
    lin = Linear(25, 400, rng=np.random.default_rng(0))
    assert np.abs(lin.weight.data).max() <= 0.2 and np.abs(lin.weight.data).max() > 0.19
    assert np.abs(lin.bias.data).max() <= 0.2


def test_backward_before_forward_fails_clearly():
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(2, 2, rng=np.random.default_rng(0)).backward(np.ones((1, 2)))


def test_batch_norm_train_uses_batch_stats_and_updates_running_stats():
    bn = BatchNorm1d(2)
    x = np.array([[1.0, 10.0], [3.0, 14.0]])
    y = bn.forward(x)
    # batch mean (2, 12), biased var (1, 4): x̂ = ±1/√(var + 1e-5)
    np.testing.assert_allclose(
        y, [[-1 / np.sqrt(1 + 1e-5), -2 / np.sqrt(4 + 1e-5)], [1 / np.sqrt(1 + 1e-5), 2 / np.sqrt(4 + 1e-5)]]
    )
    np.testing.assert_allclose(bn.running_mean, [0.2, 1.2])  # 0.9·0 + 0.1·mean
    np.testing.assert_allclose(bn.running_var, [0.9 + 0.1 * 2.0, 0.9 + 0.1 * 8.0])  # unbiased var (2, 8)


def test_batch_norm_eval_uses_running_stats():
    bn = BatchNorm1d(1)
    bn.running_mean[:] = 1.0
    bn.running_var[:] = 4.0
    bn.eval()
    np.testing.assert_allclose(bn.forward(np.array([[5.0], [1.0]])), [[4 / np.sqrt(4 + 1e-5)], [0.0]])
    np.testing.assert_array_equal(bn.running_mean, [1.0])


def test_layer_norm_normalises_each_sample():
    ln = LayerNorm(4)
    y = ln.forward(np.array([[1.0, 2.0, 3.0, 4.0]]))
    np.testing.assert_allclose(y.mean(), 0, atol=1e-15)
    np.testing.assert_allclose(y.var(), 1.25 / (1.25 + 1e-5))


def test_dropout_is_inverted_and_off_in_eval():
    d = Dropout(0.5, rng=np.random.default_rng(0))
    y = d.forward(np.ones((1000, 10)))
    assert set(np.unique(y)) == {0.0, 2.0}
    assert abs(y.mean() - 1.0) < 0.05
    d.eval()
    x = np.ones((3, 3))
    assert d.forward(x) is x


def test_gelu_in_eval_mode_skips_its_derivative_until_backward_needs_it():
    x = np.linspace(-3, 3, 13)
    trained, evaluated = GELU(), GELU()
    evaluated.eval()
    np.testing.assert_array_equal(evaluated.forward(x), trained.forward(x))
    assert evaluated._cache[1] is None  # forward left the derivative out
    g = np.random.default_rng(2).standard_normal(13)
    np.testing.assert_array_equal(evaluated.backward(g), trained.backward(g))


def test_float32_stays_float32_through_forward_backward():
    model = mlp(
        in_features=3,
        out_features=2,
        hidden_sizes=[4],
        norm="layer_norm",
        activation="gelu",
        rng=np.random.default_rng(0),
        dtype=np.float32,
    )
    buf = ParameterBuffer(model.named_parameters())
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    y = model.forward(x)
    assert y.dtype == np.float32
    assert model.backward(np.ones_like(y)).dtype == np.float32
    assert buf.grad.dtype == np.float32


def test_same_seed_gives_bit_identical_models_and_outputs():
    def make():
        m = mlp(
            in_features=2, out_features=3, hidden_sizes=[5, 5], dropout=0.2, rng=np.random.default_rng(42)
        )
        return m, m.forward(np.ones((4, 2)))

    (m1, y1), (m2, y2) = make(), make()
    np.testing.assert_array_equal(y1, y2)
    for (_, p1), (_, p2) in zip(m1.named_parameters(), m2.named_parameters()):
        np.testing.assert_array_equal(p1.data, p2.data)


def test_stacked_identity_layers_stay_linear():
    """The notes' point: without a non-linearity, f(sx) = s·f(x) for the whole stack (no biases)."""
    m = mlp(
        in_features=2,
        out_features=1,
        hidden_sizes=[8, 8],
        activation="identity",
        rng=np.random.default_rng(0),
    )
    for layer in m.layers:
        if isinstance(layer, Linear):
            layer.bias.data[:] = 0
    x = np.array([[0.3, -1.2]])
    np.testing.assert_allclose(m.forward(3.0 * x), 3.0 * m.forward(x), rtol=1e-13)


def test_clip_grad_norm_scales_to_max_norm():
    buf = ParameterBuffer([("w", Parameter(np.zeros(2), decay=True))])
    buf.grad[:] = [3.0, 4.0]
    assert buf.clip_grad_norm(1.0) == 5.0
    np.testing.assert_allclose(buf.grad, [0.6, 0.8], rtol=1e-5)


def test_load_state_dict_refuses_mismatch_without_changing_anything():
    buf = ParameterBuffer([("w", Parameter(np.ones(3), decay=True)), ("b", Parameter(np.zeros(1)))])
    from nncli.errors import CheckpointError

    with pytest.raises(CheckpointError, match="shape"):
        buf.load_state_dict({"w": np.zeros(3), "b": np.zeros(2)})
    with pytest.raises(CheckpointError, match="missing b"):
        buf.load_state_dict({"w": np.zeros(3)})
    np.testing.assert_array_equal(buf.data, [1, 1, 1, 0])


def test_registry_suggests_close_names():
    reg: Registry[int] = Registry("optimizer")
    reg.register("adam")(1)
    with pytest.raises(UnknownNameError, match="did you mean 'adam'"):
        reg.get("adma")


def test_config_names_equal_registry_names():
    """Each name a config accepts exists in its registry, and every registered component is reachable."""
    import typing

    def literal_names(union) -> set[str]:
        members = typing.get_args(typing.get_args(union)[0])
        field = "name" if "name" in members[0].model_fields else "kind"
        return {m.model_fields[field].default for m in members}

    from nncli.config import schema as config

    assert literal_names(config.OptimizerConfig) == set(OPTIMIZERS.names())
    assert literal_names(config.LossConfig) == set(LOSSES.names())
    assert set(MODELS.names()) <= literal_names(config.ModelConfig)  # exact once transformer lands
    from nncli.engine.schedules import SCHEDULES

    assert literal_names(config.ScheduleConfig) == set(SCHEDULES.names())
    assert set(typing.get_args(NeuronConfig.model_fields["activation"].annotation)) == set(
        ACTIVATIONS.names()
    )
    assert set(typing.get_args(MLPConfig.model_fields["activation"].annotation)) == set(ACTIVATIONS.names())
    assert RunConfig.model_json_schema()["title"] == "RunConfig"
