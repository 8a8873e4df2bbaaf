/// Prepares a request's JSON Schema for FoundationModels' `GenerationSchema` decoder (the dialect Apple's
/// own schemas are written in: `title` on the root, `minItems`/`maxItems`, `enum`, `minimum`/`maximum`,
/// `$defs`/`$ref`, `anyOf`, and `x-order` giving the property order).
///
/// - adds `"x-order"` (the properties' order as written) to every object schema that lacks it;
/// - adds a root `"title": "Output"` when missing;
/// - refuses (unsupported_schema) keywords that the dialect has no counterpart for, since a decoder that
///   ignored them would silently not honour them.
public enum AppleSchemaDialect {
    public static let unsupportedKeywords: Set<String> = [
        "oneOf", "allOf", "not", "if", "then", "else", "patternProperties", "dependentSchemas", "dependentRequired",
        "prefixItems", "contains", "minContains", "maxContains", "uniqueItems", "format", "pattern", "minLength",
        "maxLength", "multipleOf", "exclusiveMinimum", "exclusiveMaximum", "minProperties", "maxProperties",
        "propertyNames", "unevaluatedProperties", "unevaluatedItems", "const",
    ]

    public static func prepare(_ schema: JSONObject) throws(RunnerError) -> JSONObject {
        var root = try prepareNode(schema, at: "(root)")
        if root["title"] == nil { root["title"] = "Output" }
        return root
    }

    static func prepareNode(_ node: JSONObject, at path: String) throws(RunnerError) -> JSONObject {
        if let keyword = node.keys.first(where: { unsupportedKeywords.contains($0) }) {
            throw RunnerError(.unsupportedSchema, "keyword '\(keyword)' at \(path) is not supported by FoundationModels")
        }
        var out = node
        if let properties = node["properties"]?.objectValue {
            var prepared = JSONObject()
            for (name, value) in properties.pairs {
                prepared[name] = try prepareValue(value, at: "\(path).properties.\(name)")
            }
            out["properties"] = .object(prepared)
            if out["x-order"] == nil { out["x-order"] = .array(properties.keys.map(JSONValue.string)) }
        }
        for key in ["$defs", "definitions"] {
            guard let defs = node[key]?.objectValue else { continue }
            var prepared = JSONObject()
            for (name, value) in defs.pairs { prepared[name] = try prepareValue(value, at: "\(path).\(key).\(name)") }
            out[key] = .object(prepared)
        }
        for key in ["items", "additionalProperties"] {
            if let value = node[key], value.objectValue != nil { out[key] = try prepareValue(value, at: "\(path).\(key)") }
        }
        if let options = node["anyOf"]?.arrayValue {
            var prepared: [JSONValue] = []
            for (i, value) in options.enumerated() { prepared.append(try prepareValue(value, at: "\(path).anyOf[\(i)]")) }
            out["anyOf"] = .array(prepared)
        }
        return out
    }

    static func prepareValue(_ value: JSONValue, at path: String) throws(RunnerError) -> JSONValue {
        guard let object = value.objectValue else { return value }
        return .object(try prepareNode(object, at: path))
    }
}
