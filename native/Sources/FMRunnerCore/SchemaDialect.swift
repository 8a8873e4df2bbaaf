/// The JSON-Schema subset a backend honours: an entry of `protocol/schema-dialects.json`, the one source
/// of truth shared with Python (`loop/runners/dialect.py`). The file is compiled into the binary
/// (SwiftPM `.embedInCode`), so the runner needs no resource bundle beside it.
///
/// `check` walks every schema node (the root, `properties.*`, `items`, `additionalProperties`,
/// `anyOf[i]`, `$defs.*`) and refuses the first keyword outside `keywords` + `annotations`, or a `type`
/// outside `types`, naming it and its path the way Python does: `keyword 'minLength' at properties.title`.
public struct SchemaDialect: Equatable, Sendable {
    public let name: String
    public let fullJSONSchema: Bool
    public let types: [String]
    public let keywords: Set<String>
    public let annotations: Set<String>

    /// The embedded file's bytes, exactly as in `protocol/schema-dialects.json`.
    public static var fileBytes: [UInt8] { PackageResources.schema_dialects_json }

    /// Every dialect in the embedded file, by name.
    public static let all: [String: SchemaDialect] = {
        guard let text = String(validating: fileBytes, as: UTF8.self),
              let root = try? JSONValue.parse(text).objectValue,
              let dialects = root["dialects"]?.objectValue else {
            fatalError("the embedded schema-dialects.json is not valid: rebuild from native/protocol/")
        }
        var parsed: [String: SchemaDialect] = [:]
        for (name, value) in dialects.pairs {
            let entry = value.objectValue ?? JSONObject()
            func strings(_ key: String) -> [String] { entry[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
            parsed[name] = SchemaDialect(name: name, fullJSONSchema: entry["full_json_schema"]?.boolValue ?? false,
                                         types: strings("types"), keywords: Set(strings("keywords")),
                                         annotations: Set(strings("annotations")))
        }
        return parsed
    }()

    public static func named(_ name: String) -> SchemaDialect {
        guard let dialect = all[name] else { fatalError("schema-dialects.json has no '\(name)' dialect") }
        return dialect
    }

    public static var apple: SchemaDialect { named("apple") }
    public static var mock: SchemaDialect { named("mock") }

    public func allows(_ keyword: String) -> Bool {
        fullJSONSchema || keywords.contains(keyword) || annotations.contains(keyword)
    }

    /// Throws `unsupported_schema` for the first keyword or type outside this dialect.
    public func check(_ schema: JSONObject) throws(RunnerError) {
        if fullJSONSchema { return }
        try checkNode(schema, at: Self.root)
    }

    public static let root = "(root)"

    static func child(_ path: String, _ suffix: String) -> String { path == root ? suffix : "\(path).\(suffix)" }

    func checkNode(_ node: JSONObject, at path: String) throws(RunnerError) {
        if let keyword = node.keys.first(where: { !allows($0) }) {
            throw RunnerError(.unsupportedSchema, "keyword '\(keyword)' at \(path) is not in the \(name) schema dialect")
        }
        if let type = node["type"], !(type.stringValue.map(types.contains) ?? false) {
            throw RunnerError(.unsupportedSchema, "keyword 'type' at \(path) is not in the \(name) schema dialect "
                + "(type \(type.jsonText); the dialect has \(types.joined(separator: ", ")))")
        }
        for key in ["properties", "$defs"] {
            for (childName, value) in node[key]?.objectValue?.pairs ?? [] {
                if let object = value.objectValue { try checkNode(object, at: Self.child(path, "\(key).\(childName)")) }
            }
        }
        for key in ["items", "additionalProperties"] {
            if let object = node[key]?.objectValue { try checkNode(object, at: Self.child(path, key)) }
        }
        for (index, value) in (node["anyOf"]?.arrayValue ?? []).enumerated() {
            if let object = value.objectValue { try checkNode(object, at: Self.child(path, "anyOf[\(index)]")) }
        }
    }
}
