import StreamEngine

extension FusionEnsemble {
    /// MER 2023's metrics of the ensemble's predictions on a labelled dataset; `source` names
    /// the dataset in the error when it lacks an input the ensemble reads.
    package func metrics(on dataset: FusionDataset, source: String) throws(FusionError) -> FusionMetrics {
        for input in inputs where dataset.sizes[input.name] != input.size {
            throw .invalidDataset(file: source, reason: "lacks input \(input.name) of size \(input.size) that the model reads")
        }
        let (p, v) = predict(dataset.features, rows: dataset.count)
        return FusionMetrics(trueLabels: dataset.labels, predictedLabels: p.argmaxRows, trueValence: dataset.valence,
                             predictedValence: v, labelCount: labels.count)
    }
}
