import FuzzInput
import MerdEvents

/// A line a client sends on the events socket, as the server parses it.
FuzzInput.run { data, size in
    guard let data else { return 0 }
    _ = try? ClientRequest(jsonLine: UnsafeBufferPointer(start: data, count: size))
    return 0
}
