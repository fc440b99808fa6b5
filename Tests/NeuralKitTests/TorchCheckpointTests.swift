import Foundation
import NeuralKit
import TestSupport
import Testing

/// The fixtures of tools/make_torch_checkpoint_fixtures.py.
enum TorchFixtures {
    static func path(_ name: String) -> String { TestPaths.fixture("torch/\(name)") }

    /// The torch file `name` and its safetensors export (same stem).
    static func pair(_ name: String) throws -> (torch: TorchCheckpoint, reference: SafeTensorsFile) {
        let stem = (name as NSString).deletingPathExtension
        return (try TorchCheckpoint(path: path(name)), try SafeTensorsFile(path: path(stem + ".safetensors")))
    }
}

@Suite("TorchCheckpoint reads torch.save's files as the safetensors export of the same tensors")
struct TorchCheckpointTests {
    /// Names in state_dict()'s order, dtypes, shapes and every element's bytes equal the export's;
    /// the Float32 reads equal bit for bit.
    func expectSameTensors(_ name: String) throws {
        let (torch, reference) = try TorchFixtures.pair(name)
        let order = try #require(reference.metadata["order"]).split(separator: ",").map(String.init)
        #expect(torch.names == order, "\(name): names in state_dict() order")
        #expect(Set(reference.names) == Set(order))
        for tensor in order {
            let header = try #require(torch.header(tensor))
            let entry = try #require(reference.entry(tensor))
            #expect(header.dtype == entry.dtype && header.shape == entry.shape, "\(name) \(tensor): \(header) vs \(entry)")
            #expect(try torch.elementBytes(tensor) == Array(try reference.rawBytes(tensor)), "\(name) \(tensor): bytes")
            if header.dtype.convertsToFloat32 {
                let read = try torch.tensor(tensor)
                #expect(read.shape == entry.shape)
                #expect(read.scalars.map(\.bitPattern) == (try reference.tensor(tensor)).scalars.map(\.bitPattern), "\(name) \(tensor)")
            } else {
                #expect(throws: SafeTensorsError.unsupportedDType(file: torch.path, tensor: tensor, dtype: header.dtype.rawValue)) {
                    try torch.tensor(tensor)
                }
            }
        }
    }

    @Test("a state dict in every dtype, with views, offsets and shared storages, saved to a path (folder = stem)")
    func stateDict() throws {
        try expectSameTensors("state_dict.pt")
        let torch = try TorchCheckpoint(path: TorchFixtures.path("state_dict.pt"))
        #expect(torch.archiveFolder == "state_dict")
        #expect(torch.contents == TorchCheckpoint.Contents(wrapperKey: nil, moduleClass: nil))
        #expect(torch.header("u16")?.dtype == .u16, "saved through _rebuild_tensor_v3 on an UntypedStorage")
        #expect(torch.header("scalar")?.shape == [] && torch.header("empty")?.shape == [0, 3])
        // Views keep one storage: the views of `f32`, and the three names of `shared`.
        let base = torch.storageKey(of: "f32")
        for view in ["transposed", "strided", "column", "rows"] { #expect(torch.storageKey(of: view) == base, "\(view)") }
        #expect(torch.storageKey(of: "shared.a") == torch.storageKey(of: "shared.b"))
        #expect(torch.storageKey(of: "shared.tail") == torch.storageKey(of: "shared.a"))
        #expect(torch.storageKey(of: "shared.a") != base)
    }

    @Test("the same state dict saved to a file object (folder = archive)")
    func archiveFolder() throws {
        try expectSameTensors("state_dict_archive.pt")
        #expect(try TorchCheckpoint(path: TorchFixtures.path("state_dict_archive.pt")).archiveFolder == "archive")
    }

    @Test("a training checkpoint's state_dict under its wrapper key")
    func wrapped() throws {
        try expectSameTensors("wrapped.pth")
        let torch = try TorchCheckpoint(path: TorchFixtures.path("wrapped.pth"))
        #expect(torch.contents == TorchCheckpoint.Contents(wrapperKey: "state_dict", moduleClass: nil))
    }

    @Test("a whole pickled module yields exactly state_dict()'s names, in its order")
    func module() throws {
        try expectSameTensors("module.pt")
        let torch = try TorchCheckpoint(path: TorchFixtures.path("module.pt"))
        #expect(torch.contents == TorchCheckpoint.Contents(wrapperKey: nil, moduleClass: "__main__.TinyNet"))
        #expect(!torch.names.contains("cache"), "a non-persistent buffer is not in state_dict()")
        #expect(!torch.names.contains("stem.bias"), "bias=False leaves no entry")
        #expect(torch.header("norm.num_batches_tracked") == TensorHeader(name: "norm.num_batches_tracked", dtype: .i64, shape: []))
        #expect(try torch.elementBytes("norm.num_batches_tracked") == [17, 0, 0, 0, 0, 0, 0, 0])
        #expect(torch.storageKey(of: "tied.weight") == torch.storageKey(of: "embed.weight"), "tied weights share a storage")
    }

    @Test("a tiny timm EfficientNet saved whole, as EmotiEffLib publishes its models")
    func timmModule() throws {
        try expectSameTensors("timm_efficientnet.pt")
        let torch = try TorchCheckpoint(path: TorchFixtures.path("timm_efficientnet.pt"))
        #expect(torch.contents.moduleClass == "timm.models.efficientnet.EfficientNet")
        #expect(torch.header("classifier.0.weight")?.shape == [3, 16])
        #expect(torch.header("blocks.1.0.se.conv_reduce.weight") != nil)
    }

    @Test("the legacy formats are refused, saying how to re-save")
    func legacy() throws {
        for (name, format) in [("legacy.pt", TorchCheckpointError.LegacyFormat.pickle), ("legacy_tar.pt", .tar)] {
            let path = TorchFixtures.path(name)
            #expect(throws: TorchCheckpointError.legacyFormat(file: path, format: format)) { try TorchCheckpoint(path: path) }
            #expect(throws: SafeTensorsError.pytorch(.legacyFormat(file: path, format: format))) { try openCheckpoint(path: path) }
            let message = TorchCheckpointError.legacyFormat(file: path, format: format).description
            #expect(message.contains("torch.save(torch.load(f), g)") && message.contains("tools/convert_to_safetensors.py"))
        }
    }

    @Test("a checkpoint whose pickle calls os.system is refused naming it, and nothing runs")
    func osSystem() throws {
        let marker = "/tmp/merd-torch-fixture-pwned"
        try? FileManager.default.removeItem(atPath: marker)
        let path = TorchFixtures.path("os_system.pt")
        #expect(throws: TorchCheckpointError.unsupportedGlobal(file: path, name: "posix.system")) { try TorchCheckpoint(path: path) }
        #expect(throws: SafeTensorsError.pytorch(.unsupportedGlobal(file: path, name: "posix.system"))) { try openCheckpoint(path: path) }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test("openCheckpoint chooses the reader by content, not by name")
    func openByContent() throws {
        let scratch = ScratchDirectory()
        let torchBytes = try Data(contentsOf: URL(fileURLWithPath: TorchFixtures.path("wrapped.pth")))
        let safeBytes = try Data(contentsOf: URL(fileURLWithPath: TorchFixtures.path("wrapped.safetensors")))
        let torchNamedSafe = scratch.write(Array(torchBytes), name: "model.safetensors")
        let safeNamedBin = scratch.write(Array(safeBytes), name: "pytorch_model.bin")
        #expect(try openCheckpoint(path: torchNamedSafe) is TorchCheckpoint)
        #expect(try openCheckpoint(path: safeNamedBin) is SafeTensorsFile)
        #expect(throws: SafeTensorsError.notFound(file: scratch.path + "/absent.bin")) { try openCheckpoint(path: scratch.path + "/absent.bin") }
        #expect(throws: SafeTensorsError.tooShort(file: scratch.write([1, 2], name: "short.bin"), bytes: 2)) {
            try openCheckpoint(path: scratch.path + "/short.bin")
        }
    }

    @Test("StrictCheckpoint accounts a PyTorch file as it does a safetensors file")
    func strict() throws {
        let path = TorchFixtures.path("wrapped.pth")
        let reference = try SafeTensorsFile(path: TorchFixtures.path("wrapped.safetensors"))
        var checkpoint = try StrictCheckpoint(path: path)
        #expect(checkpoint.file is TorchCheckpoint)
        // A transposed view read transposed back into an input-major matrix.
        let matrix = try checkpoint.matrix(["transposed"], rows: 6, columns: 4, transposed: true)
        var expected = StrictCheckpoint(file: reference)
        #expect(matrix.scalars == (try expected.matrix(["transposed"], rows: 6, columns: 4, transposed: true)).scalars)
        #expect(try checkpoint.tensor("f16", shape: [3, 5]).scalars == (try reference.tensor("f16")).scalars)
        #expect(throws: SafeTensorsError.missingTensor(file: path, tensor: "f64")) { try checkpoint.tensor("f64", shape: [3, 2]) }
        #expect(throws: SafeTensorsError.shapeMismatch(file: path, tensor: "f32", expected: [6, 4], found: [4, 6])) {
            try checkpoint.tensor("f32", shape: [6, 4])
        }
        #expect(throws: SafeTensorsError.unknownTensors(file: path, names: ["f32"])) { try checkpoint.finish() }
        checkpoint.skip("f32")
        try checkpoint.finish()
    }
}
