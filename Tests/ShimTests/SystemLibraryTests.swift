import CALSA
import CFFmpeg
import CFFmpegLoader
import COneDNN
import COpenBLAS
import CV4L2
import Testing

/// Each shim imports its headers and links its libraries: calling into each proves both.
@Suite("System-library shims")
struct SystemLibraryTests {
    @Test("libasound answers with its version")
    func alsa() {
        let version = String(cString: snd_asoundlib_version())
        #expect(version.split(separator: ".").count >= 3, "\(version)")
    }

    @Test("FFmpeg's five libraries open on first use, at the major versions of the headers merd was built with")
    func ffmpeg() {
        // Each library packs major << 16 | minor << 8 | micro; Debian 12 ships FFmpeg 5.1.
        // The first call opens its library (CFFmpegLoader); the file opened is named by the
        // headers' major version, so the version it reports must carry that major.
        #expect(avformat_version() >> 16 == LIBAVFORMAT_VERSION_MAJOR)
        #expect(avcodec_version() >> 16 == LIBAVCODEC_VERSION_MAJOR)
        #expect(avutil_version() >> 16 == LIBAVUTIL_VERSION_MAJOR)
        #expect(swscale_version() >> 16 == LIBSWSCALE_VERSION_MAJOR)
        #expect(swresample_version() >> 16 == LIBSWRESAMPLE_VERSION_MAJOR)
        for library in [merd_ffmpeg_avutil, merd_ffmpeg_swresample, merd_ffmpeg_swscale, merd_ffmpeg_avcodec, merd_ffmpeg_avformat] {
            #expect(merd_ffmpeg_is_open(library) != 0, "\(String(cString: merd_ffmpeg_soname(library)))")
        }
        var buffer = [CChar](repeating: 0, count: 128)
        merd_av_strerror(merd_AVERROR_EOF, &buffer, buffer.count)
        #expect(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } == "End of file")
        #expect(merd_AVERROR_EAGAIN() == -11)
    }

    @Test("OpenBLAS multiplies and names its kernel")
    func openblas() {
        let a: [Float] = [1, 2, 3, 4]  // [[1, 2], [3, 4]]
        let b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 0, count: 4)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1, a, 2, b, 2, 0, &c, 2)
        #expect(c == [19, 22, 43, 50])
        #expect(String(cString: openblas_get_corename()).isEmpty == false)
    }

    @Test("oneDNN creates a CPU engine and names its version")
    func onednn() throws {
        let version = dnnl_version()!.pointee
        #expect(version.major >= 2, "oneDNN \(version.major).\(version.minor)")
        var engine: dnnl_engine_t?
        #expect(dnnl_engine_create(&engine, dnnl_cpu, 0) == dnnl_success)
        #expect(dnnl_engine_destroy(engine) == dnnl_success)
    }

    @Test("V4L2 request numbers carry the kernel header's values")
    func v4l2() {
        // _IOR('V', 0, struct v4l2_capability), sizeof = 104; _IOWR('V', 17, struct v4l2_buffer), sizeof = 88.
        #expect(merd_VIDIOC_QUERYCAP == 0x8068_5600)
        #expect(merd_VIDIOC_DQBUF == 0xC058_5611)
        #expect(merd_V4L2_PIX_FMT_YUYV == 0x5659_5559 && merd_v4l2_fourcc(0x59, 0x55, 0x59, 0x56) == merd_V4L2_PIX_FMT_YUYV)
        #expect(merd_V4L2_PIX_FMT_MJPEG == 0x4750_4A4D)
        // ioctl on a descriptor that is not a device fails with an error, not a crash.
        var capability = v4l2_capability()
        #expect(merd_ioctl(-1, merd_VIDIOC_QUERYCAP, &capability) == -1)
    }
}
