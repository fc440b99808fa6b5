/// The memory behind one or more tensors: a 64-byte aligned run of Float32.
///
/// - Important: a storage referenced by more than one `Tensor` is never written; writers go
///   through `Tensor.withUnsafeMutableBufferPointer`, which copies first when it is shared.
///   That copy-on-write rule is what makes the unchecked `Sendable` sound.
public final class TensorStorage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// Memory for `count` floats, not initialised: the creator writes every element.
    init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count")
        // 64 bytes: a cache line and an AVX-512 vector, which OpenBLAS's packing likes.
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
    }

    deinit {
        UnsafeMutableRawPointer(pointer).deallocate()
    }
}

/// A Float32 tensor: a shape and strides over shared storage.
///
/// Reshaping a contiguous tensor, taking rows, and transposing are views that copy nothing;
/// kernels read contiguous row-major data, and `contiguous()` materialises a view when needed.
public struct Tensor: Sendable {
    /// Extent of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// Elements to step in storage for one step along each dimension.
    public private(set) var strides: [Int]
    var storage: TensorStorage
    /// Index in `storage` of the element at all-zero indices.
    var offset: Int

    // MARK: Creating

    /// A tensor of `shape` whose elements the caller writes through `initializer`, which
    /// must write every one of them.
    public init(
        shape: [Int], initializingWith initializer: (UnsafeMutableBufferPointer<Float>) throws -> Void
    ) rethrows {
        guard let count = Tensor.elementCount(shape) else { preconditionFailure("invalid tensor shape \(shape)") }
        let storage = TensorStorage(uninitializedCount: count)
        try initializer(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
        self.init(storage: storage, offset: 0, shape: shape, strides: Tensor.rowMajorStrides(shape))
    }

    /// A tensor of `shape` with every element `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape) { $0.initialize(repeating: value) }
    }

    /// A tensor of `shape` holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        precondition(Tensor.elementCount(shape) == scalars.count,
                     "shape \(shape) needs \(Tensor.elementCount(shape) ?? -1) scalars, got \(scalars.count)")
        self.init(shape: shape) { buffer in
            _ = scalars.withUnsafeBufferPointer { buffer.initialize(from: $0) }
        }
    }

    init(storage: TensorStorage, offset: Int, shape: [Int], strides: [Int]) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.strides = strides
    }

    // MARK: Describing

    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Whether the elements lie in row-major order with no gaps, so kernels can read them
    /// as one buffer.
    public var isContiguous: Bool {
        var expected = 1
        for dimension in stride(from: rank - 1, through: 0, by: -1) where shape[dimension] != 1 {
            if strides[dimension] != expected { return false }
            expected *= shape[dimension]
        }
        return true
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        withUnsafeBufferPointer { Array($0) }
    }

    // MARK: Views

    /// The same elements under another shape; one dimension may be -1 (inferred).
    /// A view when the tensor is contiguous, a copy otherwise.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var resolved = newShape
        let known = newShape.filter { $0 != -1 }.reduce(1, *)
        if let inferred = newShape.firstIndex(of: -1) {
            precondition(newShape.filter { $0 == -1 }.count == 1, "at most one -1 in \(newShape)")
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            resolved[inferred] = count / known
        }
        precondition(resolved.allSatisfy { $0 >= 0 } && resolved.reduce(1, *) == count,
                     "cannot reshape \(shape) to \(newShape)")
        let base = isContiguous ? self : contiguous()
        return Tensor(storage: base.storage, offset: base.offset, shape: resolved,
                      strides: Tensor.rowMajorStrides(resolved))
    }

    /// Element `index` along the first dimension, with that dimension removed. A view.
    public subscript(index: Int) -> Tensor {
        precondition(rank >= 1 && index >= 0 && index < shape[0], "index \(index) out of range for shape \(shape)")
        return Tensor(storage: storage, offset: offset + index * strides[0],
                      shape: Array(shape.dropFirst()), strides: Array(strides.dropFirst()))
    }

    /// The elements `range` along the first dimension. A view.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "rows \(range) out of range for shape \(shape)")
        var newShape = shape
        newShape[0] = range.count
        return Tensor(storage: storage, offset: offset + range.lowerBound * strides[0],
                      shape: newShape, strides: strides)
    }

    /// Dimensions `a` and `b` swapped. A view (not contiguous unless one of them has extent 1).
    public func transposed(_ a: Int = 0, _ b: Int = 1) -> Tensor {
        precondition(a < rank && b < rank, "transpose(\(a), \(b)) of rank-\(rank) tensor")
        var newShape = shape
        var newStrides = strides
        newShape.swapAt(a, b)
        newStrides.swapAt(a, b)
        return Tensor(storage: storage, offset: offset, shape: newShape, strides: newStrides)
    }

    /// A contiguous row-major copy, or `self` when it already is one.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        return Tensor(shape: shape) { destination in
            var index = [Int](repeating: 0, count: rank)
            for position in 0..<destination.count {
                var source = offset
                for dimension in 0..<rank { source += index[dimension] * strides[dimension] }
                destination[position] = storage.pointer[source]
                // Odometer increment, last dimension fastest.
                var dimension = rank - 1
                while dimension >= 0 {
                    index[dimension] += 1
                    if index[dimension] < shape[dimension] { break }
                    index[dimension] = 0
                    dimension -= 1
                }
            }
        }
    }

    // MARK: Element access

    /// One element, by its indices (for tests and small work; kernels use buffers).
    public subscript(indices: Int...) -> Float {
        get { storage.pointer[position(of: indices)] }
        set {
            makeUniquelyOwned()
            storage.pointer[position(of: indices)] = newValue
        }
    }

    private func position(of indices: [Int]) -> Int {
        precondition(indices.count == rank, "\(indices.count) indices for a rank-\(rank) tensor")
        var position = offset
        for (dimension, index) in indices.enumerated() {
            precondition(index >= 0 && index < shape[dimension], "index \(indices) out of range for shape \(shape)")
            position += index * strides[dimension]
        }
        return position
    }

    /// Calls `body` with the elements in row-major order (copying first if this is a
    /// non-contiguous view).
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        let base = isContiguous ? self : contiguous()
        return try body(UnsafeBufferPointer(start: base.storage.pointer + base.offset, count: base.count))
    }

    /// Calls `body` with the elements in row-major order, writable. The tensor first becomes
    /// the only owner of contiguous storage, so no other tensor sees the writes.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUniquelyOwned()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer + offset, count: count))
    }

    /// Makes the storage contiguous and referenced by this tensor alone.
    private mutating func makeUniquelyOwned() {
        if !isKnownUniquelyReferenced(&storage) || !isContiguous {
            let copy = Tensor(shape: shape) { destination in
                withUnsafeBufferPointer { _ = destination.initialize(from: $0) }
            }
            self = copy
        }
    }

    // MARK: Shape arithmetic

    /// Product of the extents, or nil when one is negative or the product overflows.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for extent in shape {
            guard extent >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for dimension in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[dimension] = step
            step *= max(shape[dimension], 1)
        }
        return strides
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = withUnsafeBufferPointer { $0.prefix(8).map { "\($0)" }.joined(separator: ", ") }
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

extension Tensor {
    /// Largest element-wise difference from `other` (same shape), for tests and parity reports.
    public func maxAbsoluteDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes differ: \(shape) vs \(other.shape)")
        return withUnsafeBufferPointer { a in
            other.withUnsafeBufferPointer { b in
                var worst: Float = 0
                for i in 0..<a.count {
                    let difference = abs(a[i] - b[i])
                    if difference.isNaN { return .nan }  // a NaN must never look like agreement
                    worst = max(worst, difference)
                }
                return worst
            }
        }
    }
}
