/// Reading stored elements (any dtype NeuralKit converts) as Float32, shared by the safetensors
/// and PyTorch readers so both convert F16, BF16 and F64 the same way.
enum ElementConversion {
    /// Converts `count` elements of `dtype` to Float32: the first at element index `first` of
    /// `source`, each next one `stride` elements on (1: contiguous). Stored little-endian.
    static func toFloat32(_ dtype: SafeTensorsDType, from source: UnsafeRawPointer, first: Int, stride: Int = 1, count: Int,
                          into destination: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            if stride == 1 {
                UnsafeMutableRawPointer(destination).copyMemory(from: source + 4 * first, byteCount: count * 4)
            } else {
                for i in 0..<count {
                    destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * (first + i * stride), as: UInt32.self)))
                }
            }
        case .f16:
            for i in 0..<count {
                destination[i] = Float(Float16(bitPattern: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * (first + i * stride), as: UInt16.self))))
            }
        case .bf16:
            for i in 0..<count {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * (first + i * stride), as: UInt16.self))
                destination[i] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .f64:
            for i in 0..<count {
                destination[i] = Float(Double(bitPattern: UInt64(littleEndian: source.loadUnaligned(fromByteOffset: 8 * (first + i * stride), as: UInt64.self))))
            }
        default:
            preconditionFailure("\(dtype) does not convert to Float32")
        }
    }

    /// Copies `count` elements of `size` bytes as stored, gathered the same way.
    static func copy(size: Int, from source: UnsafeRawPointer, first: Int, stride: Int = 1, count: Int,
                     into destination: UnsafeMutableRawPointer) {
        if stride == 1 {
            destination.copyMemory(from: source + size * first, byteCount: size * count)
        } else {
            for i in 0..<count {
                (destination + size * i).copyMemory(from: source + size * (first + i * stride), byteCount: size)
            }
        }
    }
}
