import Foundation

/// A `.fmadapter` package found on disk, with its metadata and its content digest.
public struct ResolvedAdapter: Equatable, Sendable {
    /// Absolute, standardized path.
    public var path: String
    /// `baseModelSignature` from metadata.json, when present.
    public var signature: String?
    public var metadata: JSONObject
    /// The content digest (the request's `adapter.sha256`, or `AdapterDigest.digest(of:)`): the key loaded
    /// adapters are cached by, so one adapter used from many worktrees is loaded once per runner process.
    public var sha256: String
    public var cacheKey: String { sha256 }
}

/// Checks an adapter reference before any backend loads it: the format must be `fmadapter`, the path must
/// exist (else adapter_not_found), and be a directory holding a metadata.json that is a JSON object whose
/// known fields have the right types (else adapter_invalid, naming the file and, for a syntax error, the
/// line and column). Relative paths resolve against the working directory; "~" is expanded.
public enum AdapterResolver {
    /// metadata.json fields that, when present, must be strings.
    static let stringFields = ["adapterIdentifier", "baseModelSignature", "author", "description", "license"]

    public static func resolve(_ ref: AdapterRef) throws(RunnerError) -> ResolvedAdapter {
        guard ref.format == .fmadapter else {
            throw RunnerError(.adapterInvalid, "fm-runner loads .fmadapter packages only; got format \(ref.format.rawValue)")
        }
        let path = standardPath(ref.path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RunnerError(.adapterNotFound, "adapter not found: \(path)")
        }
        guard isDirectory.boolValue else {
            throw RunnerError(.adapterInvalid, "an .fmadapter is a directory; \(path) is a file")
        }
        let metadataPath = (path as NSString).appendingPathComponent("metadata.json")
        let metadata = try readMetadata(metadataPath)
        let digest: String
        if let given = ref.sha256 { digest = given } else { digest = try AdapterDigest.digest(of: path) }
        return ResolvedAdapter(path: path, signature: metadata["baseModelSignature"]?.stringValue,
                               metadata: metadata, sha256: digest)
    }

    static func standardPath(_ raw: String) -> String {
        URL(fileURLWithPath: (raw as NSString).expandingTildeInPath).standardizedFileURL.path
    }

    static func readMetadata(_ file: String) throws(RunnerError) -> JSONObject {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw RunnerError(.adapterInvalid, "\(file): missing or unreadable (an .fmadapter needs metadata.json)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RunnerError(.adapterInvalid, "\(file): not UTF-8 text")
        }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(text)
        } catch {
            let (line, column) = lineAndColumn(of: error.offset, in: text)
            throw RunnerError(.adapterInvalid, "\(file):\(line):\(column): malformed metadata.json: \(error.message)")
        }
        guard let object = parsed.objectValue else {
            throw RunnerError(.adapterInvalid, "\(file): malformed metadata.json: expected a JSON object, got \(parsed.typeName)")
        }
        for field in stringFields {
            if let value = object[field], !value.isNull, value.stringValue == nil {
                throw RunnerError(.adapterInvalid,
                                  "\(file): malformed metadata.json: \(field) must be a string, got \(value.typeName)")
            }
        }
        return object
    }

    /// 1-based line and column of a byte offset.
    static func lineAndColumn(of offset: Int, in text: String) -> (Int, Int) {
        var line = 1, column = 1
        for byte in text.utf8.prefix(offset) {
            if byte == 0x0A { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }
}
