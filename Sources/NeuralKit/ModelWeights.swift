import Foundation

/// Where a model folder keeps its weights. A folder holds one of these files, looked for in
/// this order: `model.safetensors` (what merd's tools write and the hub prefers),
/// `pytorch_model.bin` (transformers' PyTorch checkpoint, all that chinese-hubert-large and
/// many older models publish) and `model.pt` (a `torch.save` of a whole model, as EmotiEffLib
/// publishes its face models). Each loader opens what it finds with ``openCheckpoint(path:)``,
/// which tells the formats apart by content.
public enum ModelWeights {
    public static let fileNames = ["model.safetensors", "pytorch_model.bin", "model.pt"]

    /// The weights of `directory`: the first of ``fileNames`` there, or the path of
    /// `model.safetensors` when there is none (the file a "not found" error then names).
    public static func path(in directory: String) -> String {
        existingPath(in: directory) ?? directory + "/" + fileNames[0]
    }

    /// The weights of `directory`, if it has any.
    public static func existingPath(in directory: String) -> String? {
        fileNames.lazy.map { directory + "/" + $0 }.first { FileManager.default.fileExists(atPath: $0) }
    }
}
