import CFFmpegLoader
import MediaTypes

/// FFmpeg's libraries, opened when merd first decodes, converts or resamples: a command that
/// does none of that (the clients, the benchmarks, training from cached features) never loads
/// them or the hundred libraries they depend on (Sources/CFFmpegLoader says why).
///
/// Each type that calls FFmpeg opens what it needs first, with ``open(_:)``, and reports a
/// library that cannot be opened as its own error, with what to install.
public enum FFmpegLibraries {
    /// One of FFmpeg's libraries.
    public enum Library: CaseIterable, Sendable {
        case avutil, swresample, swscale, avcodec, avformat

        var loaderName: merd_ffmpeg_library {
            switch self {
            case .avutil: merd_ffmpeg_avutil
            case .swresample: merd_ffmpeg_swresample
            case .swscale: merd_ffmpeg_swscale
            case .avcodec: merd_ffmpeg_avcodec
            case .avformat: merd_ffmpeg_avformat
            }
        }

        /// The file opened: the name and major version merd was compiled against
        /// ("libavcodec.so.59").
        public var fileName: String { String(cString: merd_ffmpeg_soname(loaderName)) }

        /// Debian's package of that file ("libavcodec59"), named in the error.
        public var package: String {
            let parts = fileName.components(separatedBy: ".so.")
            return parts.count == 2 ? parts[0] + parts[1] : fileName
        }

        /// Whether this process has opened it.
        public var isOpen: Bool { merd_ffmpeg_is_open(loaderName) != 0 }
    }

    /// Opens `libraries`, written out (the array form says how).
    public static func open(_ libraries: Library...) throws(FFmpegUnavailable) { try open(libraries) }

    /// Opens `libraries` for a capture stage reading `source`, which fails if one cannot be
    /// opened.
    public static func open(_ libraries: Library..., for source: String) throws(CaptureError) {
        do { try open(libraries) } catch { throw .failed(source: source, reason: error.description) }
    }

    /// Opens `libraries` (each once per process; an open library returns at once).
    public static func open(_ libraries: [Library]) throws(FFmpegUnavailable) {
        for library in libraries where !library.isOpen {
            var reason = [CChar](repeating: 0, count: 512)
            if merd_ffmpeg_open(library.loaderName, &reason, reason.count) != 0 {
                throw FFmpegUnavailable(library: library, reason: reason.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            }
        }
    }
}

/// One of FFmpeg's libraries could not be opened: not installed, or a damaged file.
public struct FFmpegUnavailable: Error, Equatable, CustomStringConvertible {
    public let library: FFmpegLibraries.Library
    /// The dynamic loader's reason (`dlerror`).
    public let reason: String

    public var description: String {
        "FFmpeg's \(library.fileName) could not be opened (\(reason)); merd decodes, converts and resamples media with it: "
            + "install or repair it (Debian: apt-get install --reinstall \(library.package))"
    }
}
