import Foundation
import NeuralKit
import Testing

/// A loader's error type, to check that every failure reaches the loader through its mapping.
private struct LoaderError: Error, Equatable {
    let underlying: SafeTensorsError
}

@Suite("StrictCheckpoint: every tensor asked for is there with its shape, every tensor there is asked for")
struct StrictCheckpointTests {
    let scratch = ScratchDirectory()

    /// A two-layer checkpoint: `layers.0.weight` [2, 3] (0…5), `layers.0.bias` [2], `layers.1.weight` [1, 2].
    func write(_ tensors: [(name: String, tensor: Tensor)]? = nil, as storage: SafeTensorsWriter.StorageType = .f32) throws -> String {
        let path = scratch.path + "/\(UUID().uuidString).safetensors"
        try SafeTensorsWriter.write(tensors ?? [
            ("layers.0.weight", Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])),
            ("layers.0.bias", Tensor(shape: [2], scalars: [-1, 1])),
            ("layers.1.weight", Tensor(shape: [1, 2], scalars: [7, 8])),
        ], as: storage, to: path)
        return path
    }

    @Test("a complete checkpoint reads through and finishes; what was read is recorded")
    func complete() throws {
        let path = try write()
        var checkpoint = try StrictCheckpoint(path: path)
        #expect(try checkpoint.tensor("layers.0.weight", shape: [2, 3]).scalars == [0, 1, 2, 3, 4, 5])
        #expect(try checkpoint.tensor("layers.0.bias", shape: [2]).scalars == [-1, 1])
        #expect(checkpoint.unusedNames == ["layers.1.weight"])
        #expect(try checkpoint.shape("layers.1.weight") == [1, 2])
        #expect(try checkpoint.tensor("layers.1.weight", shape: [1, 2]).scalars == [7, 8])
        #expect(checkpoint.consumed == ["layers.0.weight", "layers.0.bias", "layers.1.weight"])
        try checkpoint.finish()
    }

    @Test("an unknown tensor is named at finish, with the file")
    func unknown() throws {
        let path = try write()
        var checkpoint = try StrictCheckpoint(path: path)
        _ = try checkpoint.tensor("layers.0.weight", shape: [2, 3])
        _ = try checkpoint.tensor("layers.0.bias", shape: [2])
        #expect(throws: SafeTensorsError.unknownTensors(file: path, names: ["layers.1.weight"])) { try checkpoint.finish() }
        let message = SafeTensorsError.unknownTensors(file: path, names: ["layers.1.weight"]).description
        #expect(message.contains(path) && message.contains("layers.1.weight"), "\(message)")
    }

    @Test("a missing tensor is named, with the file")
    func missing() throws {
        let path = try write()
        var checkpoint = try StrictCheckpoint(path: path)
        #expect(throws: SafeTensorsError.missingTensor(file: path, tensor: "layers.2.weight")) {
            try checkpoint.tensor("layers.2.weight", shape: [1, 1])
        }
        #expect(throws: SafeTensorsError.missingTensor(file: path, tensor: "layers.2.weight")) { try checkpoint.shape("layers.2.weight") }
        #expect(throws: SafeTensorsError.missingTensor(file: path, tensor: "layers.2.weight")) {
            try checkpoint.matrix(["layers.1.weight", "layers.2.weight"], rows: 1, columns: 2)
        }
    }

    @Test("a mis-shaped tensor is named with the shape expected and the shape found")
    func misshapen() throws {
        let path = try write()
        var checkpoint = try StrictCheckpoint(path: path)
        #expect(throws: SafeTensorsError.shapeMismatch(file: path, tensor: "layers.0.weight", expected: [3, 2], found: [2, 3])) {
            try checkpoint.tensor("layers.0.weight", shape: [3, 2])
        }
        #expect(throws: SafeTensorsError.shapeMismatch(file: path, tensor: "layers.0.bias", expected: [2, 1], found: [2])) {
            try checkpoint.matrix(["layers.0.bias"], rows: 2, columns: 1)
        }
        #expect(!checkpoint.consumed.contains("layers.0.weight"), "a refused read is not a read")
    }

    @Test("a dtype that is not a float is refused; F16 reads as Float32, as SafeTensorsFile reads it")
    func dtypes() throws {
        let half = try write(as: .f16)
        var checkpoint = try StrictCheckpoint(path: half)
        #expect(try checkpoint.tensor("layers.1.weight", shape: [1, 2]).scalars == [7, 8])

        let header = #"{"steps":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#
        let integers = scratch.write(SafeTensorsBytes.file(header: header, data: [UInt8](repeating: 0, count: 8)), name: "i64.safetensors")
        var counter = try StrictCheckpoint(path: integers)
        #expect(throws: SafeTensorsError.unsupportedDType(file: integers, tensor: "steps", dtype: "I64")) {
            try counter.tensor("steps", shape: [1])
        }
        counter.skip("steps")
        try counter.finish()
    }

    @Test("names are read under the prefix; skip accepts known tensors the model does not use")
    func prefixAndSkip() throws {
        let path = try write([
            ("hubert.proj.weight", Tensor(shape: [1, 1], scalars: [2])),
            ("hubert.layers.5.weight", Tensor(shape: [1], scalars: [0])),
            ("hubert.layers.6.weight", Tensor(shape: [1], scalars: [0])),
            ("lm_head.weight", Tensor(shape: [1], scalars: [0])),
        ])
        var checkpoint = try StrictCheckpoint(path: path, prefix: "hubert.")
        #expect(checkpoint.has("proj.weight") && !checkpoint.has("lm_head.weight"))
        #expect(try checkpoint.tensor("proj.weight", shape: [1, 1]).scalars == [2])
        #expect(throws: SafeTensorsError.missingTensor(file: path, tensor: "hubert.proj.bias")) { try checkpoint.tensor("proj.bias", shape: [1]) }
        checkpoint.skip { $0.hasPrefix("hubert.layers.") }
        #expect(throws: SafeTensorsError.unknownTensors(file: path, names: ["lm_head.weight"])) { try checkpoint.finish() }
        checkpoint.skip("absent")
        checkpoint.skip { $0 == "lm_head.weight" }
        try checkpoint.finish()
    }

    @Test("matrix: tensors side by side, each transposed if asked, equal to reading them one by one")
    func matrix() throws {
        let path = try write([
            ("q", Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])),
            ("k", Tensor(shape: [2, 3], scalars: [7, 8, 9, 10, 11, 12])),
        ])
        var checkpoint = try StrictCheckpoint(path: path)
        let plain = try checkpoint.matrix(["q", "k"], rows: 2, columns: 3)
        #expect(plain.shape == [2, 6] && plain.scalars == [1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11, 12])
        let transposed = try checkpoint.matrix(["q", "k"], rows: 2, columns: 3, transposed: true)
        #expect(transposed.shape == [3, 4] && transposed.scalars == [1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12])
        try checkpoint.finish()
    }

    @Test("NaN and infinite weights are refused, naming the tensor and how many; as read alone or side by side, transposed or not, F32 or F16")
    func nonFinite() throws {
        for storage in [SafeTensorsWriter.StorageType.f32, .f16] {
            var values = [Float](repeating: 0.5, count: 40 * 33)
            values[40 * 33 - 1] = .nan
            values[17] = -.infinity
            let path = try write([
                ("clean", Tensor(shape: [40, 33], scalars: (0..<(40 * 33)).map { Float($0) / 100 })),
                ("damaged", Tensor(shape: [40, 33], scalars: values)),
            ], as: storage)
            var checkpoint = try StrictCheckpoint(path: path)
            #expect(try checkpoint.tensor("clean", shape: [40, 33]).count == 40 * 33)
            #expect(throws: SafeTensorsError.nonFinite(file: path, tensor: "damaged", count: 2)) { try checkpoint.tensor("damaged", shape: [40, 33]) }
            for transposed in [false, true] {
                #expect(throws: SafeTensorsError.nonFinite(file: path, tensor: "damaged", count: 2)) {
                    try checkpoint.matrix(["clean", "damaged"], rows: 40, columns: 33, transposed: transposed)
                }
            }
            #expect(!checkpoint.consumed.contains("damaged"))
        }
        let error = SafeTensorsError.nonFinite(file: "model.safetensors", tensor: "encoder.weight", count: 1)
        #expect(error.description == "model.safetensors: tensor encoder.weight holds 1 NaN or infinite value; the file is damaged or was saved from a diverged training run, and merd will not load it")
    }

    @Test("every failure, opening included, reaches the loader through its own error type")
    func mapping() throws {
        let path = try write()
        #expect(throws: LoaderError(underlying: .notFound(file: scratch.path + "/none.safetensors"))) {
            try StrictCheckpoint(path: scratch.path + "/none.safetensors", mapError: LoaderError.init)
        }
        var checkpoint = try StrictCheckpoint(path: path, mapError: LoaderError.init)
        #expect(throws: LoaderError(underlying: .shapeMismatch(file: path, tensor: "layers.0.bias", expected: [3], found: [2]))) {
            try checkpoint.tensor("layers.0.bias", shape: [3])
        }
        #expect(throws: LoaderError(underlying: .unknownTensors(file: path, names: ["layers.0.bias", "layers.0.weight", "layers.1.weight"]))) {
            try checkpoint.finish()
        }
    }
}
