import Foundation

/// A `.fmadapter` package found on disk, with its metadata.
public struct ResolvedAdapter: Equatable, Sendable {
    /// Absolute, standardized path (the cache key for loaded adapters).
    public var path: String
    /// `baseModelSignature` from metadata.json, when present.
    public var signature: String?
    public var metadata: JSONObject
    /// Path plus size and modification time of metadata.json and adapter_weights.bin: an adapter
    /// re-exported to the same path gets a new key, so a stale loaded copy is not reused.
    public var cacheKey: String
}

/// Checks an adapter reference before any backend loads it: the format must be `fmadapter`, the path must
/// exist (else adapter_not_found), and be a directory holding a readable JSON-object metadata.json
/// (else adapter_invalid). Relative paths resolve against the working directory; "~" is expanded.
public enum AdapterResolver {
    public static func resolve(_ ref: AdapterRef) throws(RunnerError) -> ResolvedAdapter {
        guard ref.format == .fmadapter else {
            throw RunnerError(.adapterInvalid, "fm-runner loads .fmadapter packages only; got format \(ref.format.rawValue)")
        }
        let expanded = (ref.path as NSString).expandingTildeInPath
        let path = URL(fileURLWithPath: expanded).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw RunnerError(.adapterNotFound, "adapter not found: \(path)")
        }
        guard isDirectory.boolValue else {
            throw RunnerError(.adapterInvalid, "an .fmadapter is a directory; \(path) is a file")
        }
        let metadataPath = (path as NSString).appendingPathComponent("metadata.json")
        guard let data = FileManager.default.contents(atPath: metadataPath) else {
            throw RunnerError(.adapterInvalid, "adapter \(path) has no readable metadata.json")
        }
        guard let text = String(data: data, encoding: .utf8), let metadata = try? JSONValue.parse(text).objectValue else {
            throw RunnerError(.adapterInvalid, "adapter \(path): metadata.json is not a JSON object")
        }
        let stamps = ["metadata.json", "adapter_weights.bin"].map { name -> String in
            let attributes = try? FileManager.default.attributesOfItem(atPath: (path as NSString).appendingPathComponent(name))
            let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(size)@\(modified)"
        }
        return ResolvedAdapter(path: path, signature: metadata["baseModelSignature"]?.stringValue, metadata: metadata,
                               cacheKey: ([path] + stamps).joined(separator: "|"))
    }
}
