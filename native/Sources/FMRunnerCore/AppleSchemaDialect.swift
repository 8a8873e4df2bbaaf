/// Prepares a request's JSON Schema for FoundationModels' `GenerationSchema` decoder (the dialect Apple's
/// own schemas are written in: `title` on the root, `minItems`/`maxItems`, `enum`, `minimum`/`maximum`,
/// `$defs`/`$ref`, `anyOf`, and `x-order` giving the property order).
///
/// - refuses (unsupported_schema) any keyword outside `SchemaDialect.apple` (the apple entry of
///   protocol/schema-dialects.json), since a decoder that ignored it would silently not honour it;
/// - adds `"x-order"` (the properties' order as written) to every object schema that lacks it;
/// - adds `"additionalProperties": false` to every object schema that lacks it (the decoder requires the
///   key: `keyNotFound(additionalProperties)` is reported in modelcontextprotocol/swift-sdk issue #169);
/// - adds a root `"title": "Output"` when missing.
public enum AppleSchemaDialect {
    public static func prepare(_ schema: JSONObject) throws(RunnerError) -> JSONObject {
        try SchemaDialect.apple.check(schema)
        var root = try prepareNode(schema, at: SchemaDialect.root)
        if root["title"] == nil { root["title"] = "Output" }
        return root
    }

    static func prepareNode(_ node: JSONObject, at path: String) throws(RunnerError) -> JSONObject {
        var out = node
        if let properties = node["properties"]?.objectValue {
            var prepared = JSONObject()
            for (name, value) in properties.pairs {
                prepared[name] = try prepareValue(value, at: SchemaDialect.child(path, "properties.\(name)"))
            }
            out["properties"] = .object(prepared)
            if out["x-order"] == nil { out["x-order"] = .array(properties.keys.map(JSONValue.string)) }
        }
        if node["type"]?.stringValue == "object", out["additionalProperties"] == nil { out["additionalProperties"] = false }
        if let defs = node["$defs"]?.objectValue {
            var prepared = JSONObject()
            for (name, value) in defs.pairs { prepared[name] = try prepareValue(value, at: SchemaDialect.child(path, "$defs.\(name)")) }
            out["$defs"] = .object(prepared)
        }
        for key in ["items", "additionalProperties"] {
            if let value = node[key], value.objectValue != nil { out[key] = try prepareValue(value, at: SchemaDialect.child(path, key)) }
        }
        if let options = node["anyOf"]?.arrayValue {
            var prepared: [JSONValue] = []
            for (i, value) in options.enumerated() { prepared.append(try prepareValue(value, at: SchemaDialect.child(path, "anyOf[\(i)]"))) }
            out["anyOf"] = .array(prepared)
        }
        return out
    }

    static func prepareValue(_ value: JSONValue, at path: String) throws(RunnerError) -> JSONValue {
        guard let object = value.objectValue else { return value }
        return .object(try prepareNode(object, at: path))
    }
}
