import CALSA
import MediaTypes

/// An open capture PCM: the handle, its configuration tree (when opened from text), and the
/// hardware-parameter negotiation. Closed when released.
///
/// - Important: `@unchecked Sendable` because it is used by one thread at a time (the opener,
///   then the read loop), handed over once; libasound's handle is never shared.
final class ALSAPCM: @unchecked Sendable {
    let handle: OpaquePointer
    private let configurationTree: OpaquePointer?
    let source: String

    struct Format {
        let sample: ALSASampleFormat
        let negotiated: ALSACapture.Negotiated
    }

    init(device: String, configuration: String?, source: String) throws(CaptureError) {
        self.source = source
        merd_alsa_silence_library_errors()
        var pcm: OpaquePointer?
        var tree: OpaquePointer?
        let status: Int32
        if let configuration {
            guard snd_config_top(&tree) >= 0, let tree else { throw .failed(source: source, reason: "snd_config_top failed") }
            var input: OpaquePointer?
            let loaded: Int32 = configuration.withCString { text in
                guard snd_input_buffer_open(&input, text, strlen(text)) >= 0 else { return -ENOMEM }
                defer { snd_input_close(input) }
                return snd_config_load(tree, input)
            }
            guard loaded >= 0 else {
                snd_config_delete(tree)
                throw .failed(source: source, reason: "invalid ALSA configuration: \(String(cString: snd_strerror(loaded)))")
            }
            status = snd_pcm_open_lconf(&pcm, device, SND_PCM_STREAM_CAPTURE, 0, tree)
        } else {
            status = snd_pcm_open(&pcm, device, SND_PCM_STREAM_CAPTURE, 0)
        }
        guard status >= 0, let pcm else {
            if let tree { snd_config_delete(tree) }
            let reason = String(cString: snd_strerror(status))
            switch -status {
            case ENOENT, ENODEV, ENXIO: throw .notFound(source: source)
            default: throw .unavailable(source: source, reason: reason)
            }
        }
        handle = pcm
        configurationTree = tree
    }

    deinit {
        snd_pcm_close(handle)
        if let configurationTree { snd_config_delete(configurationTree) }
    }

    /// Picks the format, channels and rate the device offers, nearest to the preferences.
    func negotiate(_ preferences: ALSACapture.Preferences) throws(CaptureError) -> Format {
        var params: OpaquePointer?
        guard snd_pcm_hw_params_malloc(&params) >= 0, let params else { throw .failed(source: source, reason: "out of memory") }
        defer { snd_pcm_hw_params_free(params) }
        guard snd_pcm_hw_params_any(handle, params) >= 0 else {
            throw .unsupportedFormat(source: source, detail: "the device reports no configuration")
        }
        guard snd_pcm_hw_params_set_access(handle, params, SND_PCM_ACCESS_RW_INTERLEAVED) >= 0 else {
            throw .unsupportedFormat(source: source, detail: "no interleaved read access")
        }
        let candidates = ALSASampleFormat.allCases.filter { format in
            guard let wanted = preferences.format else { return true }
            switch (wanted, format) {
            case (.float32, .float32), (.signed32, .signed32), (.signed16, .signed16): return true
            default: return false
            }
        }
        guard let sample = candidates.first(where: { snd_pcm_hw_params_test_format(handle, params, $0.alsa) == 0 }) else {
            throw .unsupportedFormat(source: source, detail: "offers none of \(candidates.map(\.description).joined(separator: ", "))")
        }
        snd_pcm_hw_params_set_format(handle, params, sample.alsa)

        var minimumChannels: UInt32 = 0, maximumChannels: UInt32 = 0
        snd_pcm_hw_params_get_channels_min(params, &minimumChannels)
        snd_pcm_hw_params_get_channels_max(params, &maximumChannels)
        let wantedChannels = UInt32(preferences.channels ?? 1)
        var channels = min(max(wantedChannels, minimumChannels), max(minimumChannels, min(maximumChannels, 8)))
        guard channels >= 1, channels <= 8, snd_pcm_hw_params_set_channels_near(handle, params, &channels) >= 0 else {
            throw .unsupportedFormat(source: source, detail: "needs \(minimumChannels)…\(maximumChannels) channels; merd reads 1–8")
        }

        // No resampling inside ALSA: the engine's resampler is better and keeps state.
        snd_pcm_hw_params_set_rate_resample(handle, params, 0)
        var rate = UInt32(preferences.sampleRate ?? 48000)
        var direction: Int32 = 0
        guard snd_pcm_hw_params_set_rate_near(handle, params, &rate, &direction) >= 0, rate > 0 else {
            throw .unsupportedFormat(source: source, detail: "no usable sample rate")
        }
        var period = snd_pcm_uframes_t(max(1, Int(rate) * preferences.periodMilliseconds / 1000))
        snd_pcm_hw_params_set_period_size_near(handle, params, &period, &direction)
        // A few periods of buffer: room for the read thread to be late without an overrun.
        var buffer = period * 8
        snd_pcm_hw_params_set_buffer_size_near(handle, params, &buffer)
        let applied = snd_pcm_hw_params(handle, params)
        guard applied >= 0 else {
            throw .unsupportedFormat(source: source, detail: "\(sample) \(rate) Hz × \(channels): \(String(cString: snd_strerror(applied)))")
        }
        snd_pcm_hw_params_get_period_size(params, &period, &direction)
        let prepared = snd_pcm_prepare(handle)
        guard prepared >= 0 else { throw .failed(source: source, reason: "prepare: \(String(cString: snd_strerror(prepared)))") }
        return Format(sample: sample, negotiated: .init(sampleRate: Int(rate), channels: Int(channels),
                                                          format: sample.description, periodFrames: Int(period)))
    }
}
