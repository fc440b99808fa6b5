import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads from the HuggingFace hub's public HTTP layout: `GET /api/models/REPO?blobs=true`
/// lists a repository's files with their sizes and commit; `GET /REPO/resolve/COMMIT/FILE`
/// serves each. The endpoint is `HF_ENDPOINT` when set (a mirror, or a test server), as in
/// HuggingFace's own tools.
public struct HubClient {
    public let endpoint: URL
    public let session: URLSession

    public static let defaultEndpoint = URL(string: "https://huggingface.co")!

    public init(endpoint: URL? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.endpoint = endpoint ?? environment["HF_ENDPOINT"].flatMap(URL.init(string:)) ?? Self.defaultEndpoint
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        session = URLSession(configuration: configuration)
    }

    public struct Listing: Decodable {
        public struct Sibling: Decodable {
            struct LFS: Decodable { let size: Int? }
            public let rfilename: String
            let size: Int?
            let lfs: LFS?
            public var byteCount: Int? { size ?? lfs?.size }
        }
        public let sha: String?
        public let siblings: [Sibling]
    }

    /// The repository's files and the commit they belong to.
    public func listing(of repository: String) async throws(HubError) -> Listing {
        let url = endpoint.appendingPathComponent("api/models/\(repository)")
        var components = URLComponents(url: url, resolvingAgainstBaseURL: false)!
        components.queryItems = [URLQueryItem(name: "blobs", value: "true")]
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(from: components.url!)
        } catch {
            throw .unreachable(endpoint: endpoint.absoluteString, reason: error.localizedDescription)
        }
        try Self.check(response, url: url)
        do {
            return try JSONDecoder().decode(Listing.self, from: data)
        } catch {
            throw .badListing(url: url.absoluteString, reason: "not the hub's model listing JSON")
        }
    }

    /// Downloads `file` of `repository` at `revision` to `destination`, checking its size.
    public func download(_ file: String, of repository: String, revision: String, expectedBytes: Int?, to destination: URL)
        async throws(HubError)
    {
        let url = endpoint.appendingPathComponent("\(repository)/resolve/\(revision)/\(file)")
        let temporary: URL
        let response: URLResponse
        do {
            (temporary, response) = try await session.download(from: url)
        } catch {
            throw .unreachable(endpoint: endpoint.absoluteString, reason: error.localizedDescription)
        }
        defer { try? FileManager.default.removeItem(at: temporary) }
        try Self.check(response, url: url)
        let received = (try? FileManager.default.attributesOfItem(atPath: temporary.path)[.size] as? Int) ?? -1
        let expected = expectedBytes ?? (response.expectedContentLength >= 0 ? Int(response.expectedContentLength) : nil)
        if let expected, received != expected {
            throw .sizeMismatch(file: file, expected: expected, received: received)
        }
        do {
            try FileManager.default.moveItem(at: temporary, to: destination)
        } catch {
            throw .cannotWrite(path: destination.path, reason: error.localizedDescription)
        }
    }

    private static func check(_ response: URLResponse, url: URL) throws(HubError) {
        guard let http = response as? HTTPURLResponse else { return }
        guard (200..<300).contains(http.statusCode) else {
            throw .httpStatus(url: url.absoluteString, status: http.statusCode)
        }
    }
}

/// What went wrong talking to the hub; each is one line that says what to do.
public enum HubError: Error, CustomStringConvertible {
    case unreachable(endpoint: String, reason: String)
    case httpStatus(url: String, status: Int)
    case badListing(url: String, reason: String)
    case missingFile(repository: String, file: String, available: [String])
    case sizeMismatch(file: String, expected: Int, received: Int)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreachable(let endpoint, let reason):
            return "cannot reach \(endpoint) (\(reason)); check the network, or set HF_ENDPOINT to a mirror"
        case .httpStatus(let url, let status):
            return "\(url): HTTP \(status)\(status == 401 || status == 403 ? " (a gated or private repository)" : status == 404 ? " (no such repository or file)" : "")"
        case .badListing(let url, let reason):
            return "\(url): \(reason)"
        case .missingFile(let repository, let file, let available):
            let hint = file == "model.safetensors" && available.contains("pytorch_model.bin")
                ? "; it publishes pytorch_model.bin only: convert it once with tools/convert_to_safetensors.py"
                : ""
            return "\(repository) has no \(file)\(hint)"
        case .sizeMismatch(let file, let expected, let received):
            return "\(file): received \(received) bytes, the hub lists \(expected) (an interrupted download; run the command again)"
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write (\(reason))"
        }
    }
}
