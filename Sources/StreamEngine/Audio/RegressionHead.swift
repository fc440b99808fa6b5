import NeuralKit

/// The regression head of audEERING's speech emotion models (the model card's
/// `RegressionHead`): `out_proj(tanh(dense(x)))` on the pooled last hidden state. Its two
/// dropouts are training-only.
///
/// | field | checkpoint key |
/// | --- | --- |
/// | `dense` | `classifier.dense.weight` [D, D], `classifier.dense.bias` [D] |
/// | `output` | `classifier.out_proj.weight` [labels, D], `classifier.out_proj.bias` [labels] |
struct RegressionHead: Sendable {
    let dense: Linear
    let output: Linear

    /// [D] → [labels].
    func callAsFunction(_ pooled: Tensor) -> Tensor {
        output(dense(pooled).tanh())
    }
}
