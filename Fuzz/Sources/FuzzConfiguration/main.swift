import FuzzInput
import MerdDaemon

/// `merd run`'s TOML configuration: parsed by TOMLKit, every key checked.
FuzzInput.run { data, size in
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var configuration = DaemonConfiguration()
    try? configuration.apply(text, file: "fuzz.toml")
    return 0
}
