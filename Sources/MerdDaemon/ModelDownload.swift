import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads one file over HTTP(S) into place, checking its length: the part every model host
/// shares. An override variable names where the host's address comes from, so that errors can
/// say how to point merd at a mirror (or a test at its local server).
public struct ModelDownload: Sendable {
    public let endpoint: URL
    /// The environment variable that overrides `endpoint` (`HF_ENDPOINT`, `MERD_GITHUB_RAW_ENDPOINT`).
    public let overrideVariable: String
    let session: URLSession

    public init(defaultEndpoint: URL, overrideVariable: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        endpoint = environment[overrideVariable].flatMap(URL.init(string:)) ?? defaultEndpoint
        self.overrideVariable = overrideVariable
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        session = URLSession(configuration: configuration)
    }

    /// The body of `path` under the endpoint, with `query`.
    func data(at path: String, query: [URLQueryItem] = []) async throws(ModelDownloadError) -> Data {
        var components = URLComponents(url: endpoint.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query }
        let url = components.url!
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(from: url)
        } catch {
            throw unreachable(error)
        }
        try Self.check(response, url: url)
        return data
    }

    /// Downloads `path` under the endpoint to `destination`; `file` names it in errors. The
    /// length must be `expectedBytes` when given, else the response's Content-Length when it
    /// has one; without either, at most `limitBytes` are accepted.
    func download(_ path: String, file: String, expectedBytes: Int?, limitBytes: Int = 4 << 30, to destination: URL)
        async throws(ModelDownloadError)
    {
        let url = endpoint.appendingPathComponent(path)
        let temporary: URL
        let response: URLResponse
        do {
            (temporary, response) = try await session.download(from: url)
        } catch {
            throw unreachable(error)
        }
        defer { try? FileManager.default.removeItem(at: temporary) }
        try Self.check(response, url: url)
        let received = (try? FileManager.default.attributesOfItem(atPath: temporary.path)[.size] as? Int) ?? -1
        let expected = expectedBytes ?? (response.expectedContentLength >= 0 ? Int(response.expectedContentLength) : nil)
        if let expected, received != expected {
            throw .sizeMismatch(file: file, expected: expected, received: received)
        }
        if received > limitBytes { throw .tooLarge(file: file, received: received, limit: limitBytes) }
        do {
            try FileManager.default.moveItem(at: temporary, to: destination)
        } catch {
            throw .cannotWrite(path: destination.path, reason: error.localizedDescription)
        }
    }

    private func unreachable(_ error: any Error) -> ModelDownloadError {
        .unreachable(endpoint: endpoint.absoluteString, reason: error.localizedDescription, overrideVariable: overrideVariable)
    }

    private static func check(_ response: URLResponse, url: URL) throws(ModelDownloadError) {
        guard let http = response as? HTTPURLResponse else { return }
        guard (200..<300).contains(http.statusCode) else {
            throw .httpStatus(url: url.absoluteString, status: http.statusCode)
        }
    }
}

/// What went wrong downloading a model; each is one line that says what to do.
public enum ModelDownloadError: Error, CustomStringConvertible {
    case unreachable(endpoint: String, reason: String, overrideVariable: String)
    case httpStatus(url: String, status: Int)
    case badListing(url: String, reason: String)
    /// None of `files` is published (`files` lists alternatives: any one would do).
    case missingFile(repository: String, files: [String], available: [String])
    case sizeMismatch(file: String, expected: Int, received: Int)
    case tooLarge(file: String, received: Int, limit: Int)
    /// The content is not what the pin says: `pin` names the kind (`sha256`, `git blob`).
    case contentMismatch(file: String, pin: String, expected: String, received: String, source: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreachable(let endpoint, let reason, let variable):
            return "cannot reach \(endpoint) (\(reason)); check the network, or set \(variable) to a mirror"
        case .httpStatus(let url, let status):
            return "\(url): HTTP \(status)\(status == 401 || status == 403 ? " (a gated or private repository)" : status == 404 ? " (no such repository or file)" : "")"
        case .badListing(let url, let reason):
            return "\(url): \(reason)"
        case .missingFile(let repository, let files, _):
            return "\(repository) has no \(files.joined(separator: " or "))"
        case .sizeMismatch(let file, let expected, let received):
            return "\(file): received \(received) bytes, the host lists \(expected) (an interrupted download; run the command again)"
        case .tooLarge(let file, let received, let limit):
            return "\(file): received \(received) bytes, more than any model merd knows (\(limit)); not installed"
        case .contentMismatch(let file, let pin, let expected, let received, let source):
            return "\(file): its \(pin) is \(received), \(source) says \(expected): the download is not the published file"
                + " (a proxy's error page, a corrupted transfer, or a changed upload); nothing was installed"
        case .cannotWrite(let path, let reason):
            return "\(path): cannot write (\(reason))"
        }
    }
}

/// The HuggingFace hub's public HTTP layout: `GET /api/models/REPO?blobs=true` lists a
/// repository's files with their sizes (and, for LFS files, sha256) and its commit;
/// `GET /REPO/resolve/COMMIT/FILE` serves each. The endpoint is `HF_ENDPOINT` when set (a
/// mirror, or a test server), as in HuggingFace's own tools.
public struct HubClient: Sendable {
    public static let defaultEndpoint = URL(string: "https://huggingface.co")!
    public let transfer: ModelDownload
    public var endpoint: URL { transfer.endpoint }

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        transfer = ModelDownload(defaultEndpoint: Self.defaultEndpoint, overrideVariable: "HF_ENDPOINT", environment: environment)
    }

    public struct Listing: Decodable, Sendable {
        public struct Sibling: Decodable, Sendable {
            struct LFS: Decodable, Sendable {
                let size: Int?
                let sha256: String?
            }
            public let rfilename: String
            let size: Int?
            let lfs: LFS?
            public var byteCount: Int? { size ?? lfs?.size }
            /// The content's sha256, which the hub knows for files stored in LFS.
            public var sha256: String? { lfs?.sha256?.lowercased() }
        }
        public let sha: String?
        public let siblings: [Sibling]
    }

    /// The repository's files and the commit they belong to.
    public func listing(of repository: String) async throws(ModelDownloadError) -> Listing {
        let path = "api/models/\(repository)"
        let data = try await transfer.data(at: path, query: [URLQueryItem(name: "blobs", value: "true")])
        do {
            return try JSONDecoder().decode(Listing.self, from: data)
        } catch {
            throw .badListing(url: endpoint.appendingPathComponent(path).absoluteString, reason: "not the hub's model listing JSON")
        }
    }

    /// Downloads `file` of `repository` at `revision` to `destination`, checking its size.
    public func download(_ file: String, of repository: String, revision: String, expectedBytes: Int?, to destination: URL)
        async throws(ModelDownloadError)
    {
        try await transfer.download("\(repository)/resolve/\(revision)/\(file)", file: file, expectedBytes: expectedBytes, to: destination)
    }
}

/// Files of a GitHub repository at a commit, as `raw.githubusercontent.com/OWNER/REPO/COMMIT/PATH`
/// serves them (Git LFS files excepted; the models merd fetches from GitHub are plain blobs).
/// The endpoint is `MERD_GITHUB_RAW_ENDPOINT` when set.
public struct GitHubRawClient: Sendable {
    public static let defaultEndpoint = URL(string: "https://raw.githubusercontent.com")!
    public let transfer: ModelDownload
    public var endpoint: URL { transfer.endpoint }

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        transfer = ModelDownload(defaultEndpoint: Self.defaultEndpoint, overrideVariable: "MERD_GITHUB_RAW_ENDPOINT", environment: environment)
    }

    public func download(_ path: String, of repository: String, commit: String, to destination: URL) async throws(ModelDownloadError) {
        try await transfer.download("\(repository)/\(commit)/\(path)", file: URL(fileURLWithPath: path).lastPathComponent,
                                    expectedBytes: nil, limitBytes: 512 << 20, to: destination)
    }
}
