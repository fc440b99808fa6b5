import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Downloads one file over HTTP(S) into place, checking its length: the part every model host
/// shares. An override variable names where the host's address comes from, so that errors can
/// say how to point merd at a mirror (or a test at its local server).
public struct ModelDownload: Sendable {
    public let endpoint: URL
    /// The environment variable that overrides `endpoint` (`HF_ENDPOINT`, `MERD_GITHUB_RAW_ENDPOINT`).
    public let overrideVariable: String
    /// A listing larger than this is not one.
    static let listingLimitBytes = 64 << 20

    public init(defaultEndpoint: URL, overrideVariable: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        endpoint = environment[overrideVariable].flatMap(URL.init(string:)) ?? defaultEndpoint
        self.overrideVariable = overrideVariable
    }

    /// The body of `path` under the endpoint, with `query`.
    func data(at path: String, query: [URLQueryItem] = []) async throws(ModelDownloadError) -> Data {
        var components = URLComponents(url: endpoint.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query }
        let url = components.url!
        do {
            return try await HTTPTransfer.data(from: url, limit: Self.listingLimitBytes)
        } catch .tooLarge {
            throw .badListing(url: url.absoluteString, reason: "more than \(Self.listingLimitBytes) bytes, not a listing")
        } catch {
            throw failure(error, url: url, file: nil, path: nil)
        }
    }

    /// Downloads `path` under the endpoint to `destination`; `file` names it in errors. The
    /// length must be `expectedBytes` when given, else the response's Content-Length when it
    /// has one; without either, at most `limitBytes` are accepted. The body goes to a `.part`
    /// file beside `destination`, which takes its name only when the length is right.
    func download(_ path: String, file: String, expectedBytes: Int?, limitBytes: Int = 4 << 30, to destination: URL)
        async throws(ModelDownloadError)
    {
        let url = endpoint.appendingPathComponent(path)
        let partial = destination.path + ".part"
        let descriptor = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotWrite(path: partial, reason: String(cString: strerror(errno))) }
        var kept = false
        defer { if !kept { unlink(partial) } }
        let response: HTTPTransfer.Response
        do {
            response = try await HTTPTransfer.download(from: url, to: descriptor, limit: limitBytes)
        } catch {
            close(descriptor)
            if case .partial(let declared, let received, _) = error, let expected = expectedBytes ?? declared {
                throw .sizeMismatch(file: file, expected: expected, received: received)
            }
            if case .tooLarge(let received) = error { throw .tooLarge(file: file, received: received, limit: limitBytes) }
            throw failure(error, url: url, file: file, path: partial)
        }
        guard close(descriptor) == 0 else { throw .cannotWrite(path: partial, reason: String(cString: strerror(errno))) }
        if let expected = expectedBytes ?? response.contentLength, response.received != expected {
            throw .sizeMismatch(file: file, expected: expected, received: response.received)
        }
        guard rename(partial, destination.path) == 0 else {
            throw .cannotWrite(path: destination.path, reason: String(cString: strerror(errno)))
        }
        kept = true
    }

    /// The error for a transfer that failed other than by its length.
    private func failure(_ error: HTTPTransfer.Failure, url: URL, file: String?, path: String?) -> ModelDownloadError {
        switch error {
        case .unavailable(let library, let reason): return .unavailable(library: library, reason: reason)
        case .status(let status): return .httpStatus(url: url.absoluteString, status: status)
        case .cannotWrite(let reason): return .cannotWrite(path: path ?? url.absoluteString, reason: reason)
        case .cancelled: return .cancelled
        case .tooLarge(let received):
            return .tooLarge(file: file ?? url.absoluteString, received: received, limit: Self.listingLimitBytes)
        case .partial(_, let received, let reason):
            return unreachable("\(reason), after \(received) bytes")
        case .unreachable(let reason):
            return unreachable(reason)
        }
    }

    private func unreachable(_ reason: String) -> ModelDownloadError {
        .unreachable(endpoint: endpoint.absoluteString, reason: reason, overrideVariable: overrideVariable)
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
    /// libcurl, which merd downloads with, could not be opened.
    case unavailable(library: String, reason: String)
    case cancelled

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
        case .unavailable(let library, let reason):
            return "\(library) could not be opened (\(reason)); merd downloads models with it:"
                + " install or repair it (Debian: apt-get install --reinstall libcurl4)"
        case .cancelled:
            return "the download was cancelled; nothing was installed"
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
