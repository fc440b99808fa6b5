/// A checkpoint read the strict way: every tensor a loader asks for must be there with the
/// shape it expects (and a dtype that reads as Float32), and `finish()` refuses the file if it
/// holds tensors no read asked for. The one place this accounting lives; each model's loader
/// does its renames and reshapes on top and maps the errors into its own error type.
///
/// A missing or mis-shaped tensor fails the read that asks for it rather than being collected
/// for `finish()`: a loader computes with each tensor as it goes (folds, transposes), so it
/// never has to run on a stand-in value, and a loader that forgot `finish()` can still not
/// build a model from a file that lacks a part.
///
/// - Important: names passed in are relative to `prefix`; names in errors and in `skip(where:)`
///   are the file's own, prefix included.
public struct StrictCheckpoint<Failure: Error> {
    /// The file read from: safetensors or a PyTorch checkpoint.
    public let file: any CheckpointFile
    /// Put before every name asked for (`hubert.` for a task model around the base model).
    public let prefix: String
    /// Names (prefix included) that reads asked for or `skip` accepted.
    public private(set) var consumed: Set<String> = []
    private let mapError: (SafeTensorsError) -> Failure

    /// Reads `file`, each error passed through `mapError` into the loader's own error type.
    public init(file: any CheckpointFile, prefix: String = "", mapError: @escaping (SafeTensorsError) -> Failure) {
        self.file = file
        self.prefix = prefix
        self.mapError = mapError
    }

    /// Opens `path`, safetensors or PyTorch as its content says (``openCheckpoint(path:)``); a
    /// failure to open (`.notFound` among them) goes through `mapError` too.
    public init(path: String, prefix: String = "", mapError: @escaping (SafeTensorsError) -> Failure) throws(Failure) {
        let file: any CheckpointFile
        do { file = try openCheckpoint(path: path) } catch { throw mapError(error) }
        self.init(file: file, prefix: prefix, mapError: mapError)
    }

    /// The path the file was opened from.
    public var path: String { file.path }

    public func has(_ name: String) -> Bool { file.header(prefix + name) != nil }

    /// The shape `name` has in the file, for loaders that read widths from the tensors. Does
    /// not count as a read.
    public func shape(_ name: String) throws(Failure) -> [Int] {
        guard let header = file.header(prefix + name) else { throw mapError(.missingTensor(file: file.path, tensor: prefix + name)) }
        return header.shape
    }

    /// The tensor `name`, which must have shape `expected`, as Float32. Its mapped pages are
    /// released afterwards: the copy is what the model keeps.
    public mutating func tensor(_ name: String, shape expected: [Int]) throws(Failure) -> Tensor {
        let full = prefix + name
        let value: Tensor
        do { value = try file.tensor(full, shape: expected) } catch { throw mapError(error) }
        let nonFinite = value.withUnsafeBufferPointer { Self.nonFiniteCount($0, rows: 1, columns: $0.count, stride: $0.count) }
        if nonFinite > 0 { throw mapError(.nonFinite(file: file.path, tensor: full, count: nonFinite)) }
        consumed.insert(full)
        file.releasePages(of: full)
        return value
    }

    /// The 2-D tensors `names`, each [rows, columns] in the file, side by side in one matrix:
    /// [rows, n · columns], or with `transposed` each transposed, [columns, n · rows]. Read
    /// straight into place (a fused Q/K/V projection, an input-major weight) with no copy
    /// between.
    public mutating func matrix(_ names: [String], rows: Int, columns: Int, transposed: Bool = false) throws(Failure) -> Tensor {
        let (height, width) = transposed ? (columns, rows) : (rows, columns)
        let total = names.count * width
        let file = file, prefix = prefix
        do {
            let result = try Tensor(shape: [height, total]) { destination in
                for (index, name) in names.enumerated() {
                    try file.readMatrix(prefix + name, rows: rows, columns: columns, transposed: transposed,
                                        into: destination.baseAddress! + index * width, leadingDimension: total)
                }
            }
            for (index, name) in names.enumerated() {
                let nonFinite = result.withUnsafeBufferPointer {
                    Self.nonFiniteCount(UnsafeBufferPointer(rebasing: $0[(index * width)...]), rows: height, columns: width, stride: total)
                }
                if nonFinite > 0 { throw SafeTensorsError.nonFinite(file: file.path, tensor: prefix + name, count: nonFinite) }
                consumed.insert(prefix + name)
                file.releasePages(of: prefix + name)
            }
            return result
        } catch let error as SafeTensorsError {
            throw mapError(error)
        } catch {
            preconditionFailure("readMatrix throws only SafeTensorsError: \(error)")
        }
    }

    /// NaN and infinities in `rows` rows of `columns` values, `stride` apart. Every weight a
    /// loader reads is checked: a model with one NaN weight would give null answers forever
    /// without saying why.
    static func nonFiniteCount(_ values: UnsafeBufferPointer<Float>, rows: Int, columns: Int, stride: Int) -> Int {
        guard rows > 0, columns > 0, let base = values.baseAddress else { return 0 }
        var count = 0
        for row in 0..<rows {
            let line = base + row * stride
            // A float is NaN or infinite when its exponent bits are all ones: the row's largest
            // exponent field, an integer max the compiler vectorises, says whether any is; an
            // exact count only for a row where one is.
            let exponent: UInt32 = 0x7F80_0000
            let largest = UnsafeRawPointer(line).withMemoryRebound(to: UInt32.self, capacity: columns) { bits in
                var largest: UInt32 = 0
                for column in 0..<columns { largest = max(largest, bits[column] & exponent) }
                return largest
            }
            if largest < exponent { continue }
            for column in 0..<columns where !line[column].isFinite { count += 1 }
        }
        return count
    }

    /// Accepts `name` as known but unused (a batch-norm step counter, a training-only mask),
    /// if the file has it.
    public mutating func skip(_ name: String) {
        if has(name) { consumed.insert(prefix + name) }
    }

    /// Accepts every tensor whose full name satisfies `isKnown` as known but unused (layers
    /// above the ones computed, a task model's head).
    public mutating func skip(where isKnown: (String) -> Bool) {
        for name in file.names where isKnown(name) { consumed.insert(name) }
    }

    /// Tensors of the file no read asked for and no `skip` accepted, sorted.
    public var unusedNames: [String] { file.names.filter { !consumed.contains($0) }.sorted() }

    /// Throws `.unknownTensors` (through `mapError`) if the file holds tensors no read asked for.
    public func finish() throws(Failure) {
        let unused = unusedNames
        guard unused.isEmpty else { throw mapError(.unknownTensors(file: file.path, names: unused)) }
    }
}

extension StrictCheckpoint where Failure == SafeTensorsError {
    /// Reads `file`, throwing `SafeTensorsError` as it is.
    public init(file: any CheckpointFile, prefix: String = "") {
        self.init(file: file, prefix: prefix, mapError: { $0 })
    }

    /// Opens `path`, throwing `SafeTensorsError` as it is.
    public init(path: String, prefix: String = "") throws(SafeTensorsError) {
        try self.init(path: path, prefix: prefix, mapError: { $0 })
    }
}
