/// One storage of a PyTorch checkpoint: the record `data/<key>`, whose elements are `dtype`.
struct TorchStorage {
    let key: String
    let dtype: SafeTensorsDType
    /// The storage's bytes, as a range of the file.
    let data: Range<Int>
}

/// A tensor as `torch._utils._rebuild_tensor_v2` makes it: a view of a storage, from element
/// `offset`, with any size and stride (a transposed or sliced tensor, several tensors on one
/// storage). Checked when made so that reading it can never leave its storage, and so that no
/// claimed size larger than the file ever reaches an allocation.
struct TorchTensorView {
    let storageKey: String
    let dtype: SafeTensorsDType
    /// The file offset of the storage's first byte.
    let storageStart: Int
    /// In elements of `dtype` from the storage's start.
    let offset: Int
    let shape: [Int]
    let strides: [Int]
    let count: Int
    /// The bytes of the file the view reads (first to last element reached).
    let span: Range<Int>

    init(storage: TorchStorage, dtype: SafeTensorsDType, offset: Int, shape: [Int], strides: [Int],
         fileBytes: Int, path: String) throws(TorchCheckpointError) {
        func fail(_ reason: String) -> TorchCheckpointError { .invalidTensor(file: path, storage: storage.key, reason: reason) }
        guard shape.count == strides.count else { throw fail("size \(shape) and stride \(strides) differ in rank") }
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw fail("negative offset, size or stride (offset \(offset), size \(shape), stride \(strides))")
        }
        let elementSize = dtype.byteSize
        var count = 1
        for extent in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw fail("size \(shape) overflows") }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
        guard !overflow, bytes <= fileBytes else {
            throw .tooLarge(file: path, what: "a tensor of size \(shape) on storage '\(storage.key)'",
                            bytes: overflow ? Int.max : bytes, fileBytes: fileBytes)
        }
        let storageElements = storage.data.count / elementSize
        if count == 0 {
            span = storage.data.lowerBound..<storage.data.lowerBound
        } else {
            var last = offset
            for (extent, stride) in zip(shape, strides) {
                let (step, overflowStep) = (extent - 1).multipliedReportingOverflow(by: stride)
                let (sum, overflowSum) = last.addingReportingOverflow(step)
                guard !overflowStep, !overflowSum else { throw fail("size \(shape) with stride \(strides) overflows") }
                last = sum
            }
            guard last < storageElements else {
                throw fail("offset \(offset), size \(shape), stride \(strides) reach element \(last) of a \(storageElements)-element storage")
            }
            span = (storage.data.lowerBound + offset * elementSize)..<(storage.data.lowerBound + (last + 1) * elementSize)
        }
        self.storageKey = storage.key
        self.dtype = dtype
        self.storageStart = storage.data.lowerBound
        self.offset = offset
        self.shape = shape
        self.strides = strides
        self.count = count
    }

    /// Whether the elements lie in row-major order with no gaps (extents of 1 aside).
    var isContiguous: Bool {
        var expected = 1
        for dimension in stride(from: shape.count - 1, through: 0, by: -1) where shape[dimension] != 1 {
            if strides[dimension] != expected { return false }
            expected *= shape[dimension]
        }
        return true
    }

    /// Calls `body` for each run of the view in row-major order: `count` elements from storage
    /// element `first`, `stride` apart, going to result elements `destination…`. One run for a
    /// contiguous view; one per row of the last dimension otherwise.
    func forEachRun(_ body: (_ first: Int, _ stride: Int, _ count: Int, _ destination: Int) -> Void) {
        guard count > 0 else { return }
        if isContiguous {
            body(offset, 1, count, 0)
            return
        }
        let rank = shape.count
        let inner = shape[rank - 1]
        let innerStride = strides[rank - 1]
        var index = [Int](repeating: 0, count: rank - 1)
        var destination = 0
        while destination < count {
            var first = offset
            for dimension in 0..<(rank - 1) { first += index[dimension] * strides[dimension] }
            body(first, innerStride, inner, destination)
            destination += inner
            // Odometer over the outer dimensions, the last of them fastest.
            var dimension = rank - 2
            while dimension >= 0 {
                index[dimension] += 1
                if index[dimension] < shape[dimension] { break }
                index[dimension] = 0
                dimension -= 1
            }
        }
    }

    /// The view's elements as Float32, row-major, into `destination` (`count` floats).
    func readFloat32(from file: UnsafeRawBufferPointer, into destination: UnsafeMutablePointer<Float>) {
        let source = file.baseAddress! + storageStart
        forEachRun { first, stride, count, at in
            ElementConversion.toFloat32(dtype, from: source, first: first, stride: stride, count: count, into: destination + at)
        }
    }

    /// The view's elements as stored (any dtype), row-major.
    func readBytes(from file: UnsafeRawBufferPointer) -> [UInt8] {
        let size = dtype.byteSize
        guard count > 0 else { return [] }
        let source = file.baseAddress! + storageStart
        return [UInt8](unsafeUninitializedCapacity: count * size) { buffer, initialized in
            let base = UnsafeMutableRawPointer(buffer.baseAddress!)
            forEachRun { first, stride, count, at in
                ElementConversion.copy(size: size, from: source, first: first, stride: stride, count: count, into: base + at * size)
            }
            initialized = count * size
        }
    }
}
