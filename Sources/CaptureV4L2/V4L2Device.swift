import CV4L2
import Foundation
import MediaTypes

/// An open V4L2 device: capabilities, format enumeration and negotiation, and mmap
/// streaming buffers.
///
/// - Important: `@unchecked Sendable` because it is used by one thread at a time (the opener,
///   then the capture loop), handed over once; its descriptor and buffers are never shared.
final class V4L2Device: @unchecked Sendable {
    let path: String
    let descriptor: Int32
    let card: String
    let driver: String
    private(set) var buffers: [(pointer: UnsafeMutableRawPointer, length: Int)] = []
    private var streaming = false

    /// Formats the capture understands, in the order it prefers them: compressed MJPEG keeps
    /// USB bandwidth low at large sizes; YUYV and NV12 are what cameras without it offer.
    static let preferredFormats: [(fourcc: UInt32, name: String)] = [
        (merd_V4L2_PIX_FMT_MJPEG, "MJPEG"), (merd_V4L2_PIX_FMT_JPEG, "JPEG"),
        (merd_V4L2_PIX_FMT_YUYV, "YUYV"), (merd_V4L2_PIX_FMT_NV12, "NV12"),
    ]

    init(path: String) throws(CaptureError) {
        self.path = path
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT, ENODEV, ENXIO: throw .notFound(source: path)
            default: throw .unavailable(source: path, reason: String(cString: strerror(code)))
            }
        }
        descriptor = fd
        var capability = v4l2_capability()
        guard Self.control(fd, merd_VIDIOC_QUERYCAP, &capability) == 0 else {
            close(fd)
            throw .unsupportedFormat(source: path, detail: "not a V4L2 device (VIDIOC_QUERYCAP: \(String(cString: strerror(errno))))")
        }
        let caps = (capability.capabilities & 0x8000_0000) != 0 ? capability.device_caps : capability.capabilities
        card = Self.string(capability.card)
        driver = Self.string(capability.driver)
        guard caps & 0x1 != 0 /* V4L2_CAP_VIDEO_CAPTURE */, caps & 0x0400_0000 != 0 /* V4L2_CAP_STREAMING */ else {
            close(fd)
            throw .unsupportedFormat(source: path, detail: "\(card) is not a streaming video capture device")
        }
    }

    deinit {
        stopStreaming()
        for buffer in buffers { munmap(buffer.pointer, buffer.length) }
        close(descriptor)
    }

    /// ioctl, retried when a signal interrupts it.
    static func control<T>(_ fd: Int32, _ request: UInt, _ argument: inout T) -> Int32 {
        withUnsafeMutablePointer(to: &argument) { pointer in
            var result: Int32
            repeat { result = merd_ioctl(fd, request, UnsafeMutableRawPointer(pointer)) } while result == -1 && errno == EINTR
            return result
        }
    }

    static func string<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { bytes in String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static func fourccName(_ code: UInt32) -> String {
        String(decoding: [UInt8(code & 0xFF), UInt8((code >> 8) & 0xFF), UInt8((code >> 16) & 0xFF), UInt8((code >> 24) & 0xFF)], as: UTF8.self)
    }

    // MARK: Enumeration

    struct FormatDescription: Sendable, Equatable {
        let fourcc: UInt32
        let name: String
        let sizes: [(width: Int, height: Int)]

        static func == (a: FormatDescription, b: FormatDescription) -> Bool {
            a.fourcc == b.fourcc && a.sizes.map { [$0.width, $0.height] } == b.sizes.map { [$0.width, $0.height] }
        }
    }

    /// Every capture format with its frame sizes (stepwise ranges as their corners).
    func formats() -> [FormatDescription] {
        var result: [FormatDescription] = []
        var index: UInt32 = 0
        while true {
            var description = v4l2_fmtdesc()
            description.index = index
            description.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard Self.control(descriptor, merd_VIDIOC_ENUM_FMT, &description) == 0 else { break }
            result.append(FormatDescription(fourcc: description.pixelformat, name: Self.string(description.description),
                                            sizes: frameSizes(description.pixelformat)))
            index += 1
        }
        return result
    }

    func frameSizes(_ fourcc: UInt32) -> [(width: Int, height: Int)] {
        var sizes: [(Int, Int)] = []
        var index: UInt32 = 0
        while true {
            var size = v4l2_frmsizeenum()
            size.index = index
            size.pixel_format = fourcc
            guard Self.control(descriptor, merd_VIDIOC_ENUM_FRAMESIZES, &size) == 0 else { break }
            if size.type == 1 /* DISCRETE */ {
                sizes.append((Int(size.discrete.width), Int(size.discrete.height)))
            } else {
                sizes.append((Int(size.stepwise.min_width), Int(size.stepwise.min_height)))
                sizes.append((Int(size.stepwise.max_width), Int(size.stepwise.max_height)))
                break
            }
            index += 1
        }
        return sizes
    }

    /// Frame rates the device offers for `fourcc` at `width`×`height` (stepwise: the extremes).
    func frameRates(_ fourcc: UInt32, width: Int, height: Int) -> [Double] {
        var rates: [Double] = []
        var index: UInt32 = 0
        while true {
            var interval = v4l2_frmivalenum()
            interval.index = index
            interval.pixel_format = fourcc
            interval.width = UInt32(width)
            interval.height = UInt32(height)
            guard Self.control(descriptor, merd_VIDIOC_ENUM_FRAMEINTERVALS, &interval) == 0 else { break }
            func rate(_ fraction: v4l2_fract) -> Double? {
                fraction.numerator > 0 ? Double(fraction.denominator) / Double(fraction.numerator) : nil
            }
            if interval.type == 1 /* DISCRETE */ {
                if let r = rate(interval.discrete) { rates.append(r) }
            } else {
                rates += [rate(interval.stepwise.max), rate(interval.stepwise.min)].compactMap { $0 }
                break
            }
            index += 1
        }
        return rates
    }

    // MARK: Negotiation

    struct Negotiated: Sendable, Equatable, CustomStringConvertible {
        let fourcc: UInt32
        let width: Int
        let height: Int
        let bytesPerLine: Int
        let imageBytes: Int
        let framesPerSecond: Double?
        var formatName: String { V4L2Device.fourccName(fourcc) }
        var description: String {
            "\(formatName) \(width)x\(height)" + (framesPerSecond.map { String(format: "@%.4g", $0) } ?? "")
        }
    }

    /// Picks the preferred format the device offers at the size nearest `width`×`height`,
    /// sets it and the frame rate, and reports what the driver accepted.
    func negotiate(width: Int, height: Int, framesPerSecond: Int) throws(CaptureError) -> Negotiated {
        let offered = formats()
        guard let choice = Self.preferredFormats.first(where: { preferred in offered.contains { $0.fourcc == preferred.fourcc } }) else {
            throw .unsupportedFormat(source: path, detail: "offers \(offered.map { Self.fourccName($0.fourcc) }.joined(separator: ", ")); merd reads MJPEG, YUYV or NV12")
        }
        let sizes = offered.first { $0.fourcc == choice.fourcc }!.sizes
        let target = sizes.min { abs($0.width * $0.height - width * height) < abs($1.width * $1.height - width * height) }
            ?? (width, height)
        var format = v4l2_format()
        format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        format.fmt.pix.width = UInt32(target.width)
        format.fmt.pix.height = UInt32(target.height)
        format.fmt.pix.pixelformat = choice.fourcc
        format.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        guard Self.control(descriptor, merd_VIDIOC_S_FMT, &format) == 0 else {
            throw .unsupportedFormat(source: path, detail: "\(choice.name) \(target.width)x\(target.height) refused: \(String(cString: strerror(errno)))")
        }
        guard format.fmt.pix.pixelformat == choice.fourcc else {
            throw .unsupportedFormat(source: path, detail: "asked for \(choice.name), driver set \(Self.fourccName(format.fmt.pix.pixelformat))")
        }
        var parameters = v4l2_streamparm()
        parameters.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        parameters.parm.capture.timeperframe = v4l2_fract(numerator: 1, denominator: UInt32(max(1, framesPerSecond)))
        var rate: Double?
        if Self.control(descriptor, merd_VIDIOC_S_PARM, &parameters) == 0 {
            let interval = parameters.parm.capture.timeperframe
            if interval.numerator > 0 { rate = Double(interval.denominator) / Double(interval.numerator) }
        }
        let bytesPerLine = Int(format.fmt.pix.bytesperline)
        return Negotiated(fourcc: choice.fourcc, width: Int(format.fmt.pix.width), height: Int(format.fmt.pix.height),
                          bytesPerLine: bytesPerLine == 0 ? Int(format.fmt.pix.width) * 2 : bytesPerLine,
                          imageBytes: Int(format.fmt.pix.sizeimage), framesPerSecond: rate)
    }

    // MARK: Streaming

    /// Maps `count` driver buffers, queues them and starts streaming.
    func startStreaming(count: Int = 4) throws(CaptureError) {
        var request = v4l2_requestbuffers()
        request.count = UInt32(count)
        request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        request.memory = V4L2_MEMORY_MMAP.rawValue
        guard Self.control(descriptor, merd_VIDIOC_REQBUFS, &request) == 0, request.count >= 2 else {
            throw .failed(source: path, reason: "cannot get mmap buffers: \(String(cString: strerror(errno)))")
        }
        for index in 0..<request.count {
            var buffer = v4l2_buffer()
            buffer.index = index
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            guard Self.control(descriptor, merd_VIDIOC_QUERYBUF, &buffer) == 0 else {
                throw .failed(source: path, reason: "VIDIOC_QUERYBUF: \(String(cString: strerror(errno)))")
            }
            let mapped = mmap(nil, Int(buffer.length), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, off_t(buffer.m.offset))
            guard let mapped, mapped != MAP_FAILED else {
                throw .failed(source: path, reason: "mmap of buffer \(index): \(String(cString: strerror(errno)))")
            }
            buffers.append((mapped, Int(buffer.length)))
            guard Self.control(descriptor, merd_VIDIOC_QBUF, &buffer) == 0 else {
                throw .failed(source: path, reason: "VIDIOC_QBUF: \(String(cString: strerror(errno)))")
            }
        }
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        guard Self.control(descriptor, merd_VIDIOC_STREAMON, &type) == 0 else {
            throw .failed(source: path, reason: "VIDIOC_STREAMON: \(String(cString: strerror(errno)))")
        }
        streaming = true
    }

    func stopStreaming() {
        guard streaming else { return }
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        _ = Self.control(descriptor, merd_VIDIOC_STREAMOFF, &type)
        streaming = false
    }
}
