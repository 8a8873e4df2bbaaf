/// The JSON Schema the mock backend answers, parsed into a small tree.
///
/// Which keywords are allowed is not decided here: `SchemaDialect.mock` (from the embedded
/// `protocol/schema-dialects.json`, whose mock entry equals the apple entry) refuses anything else first,
/// naming the keyword and its path. This parser then reads the structure those keywords describe:
/// objects (`properties`, `required`, `x-order`, `additionalProperties`, nested to any depth), arrays of
/// any item schema (`minItems`/`maxItems`), strings (optional `enum`), integers and numbers
/// (`minimum`/`maximum`, integer `enum`), booleans, `anyOf`, and `$ref` to `#/$defs/NAME`.
/// The root must be an object (an answer is a JSON object).
public indirect enum SchemaNode: Equatable, Sendable {
    case object(properties: [SchemaProperty], required: [String])
    case array(items: SchemaNode, minItems: Int, maxItems: Int?)
    case string(choices: [String]?)
    case integer(minimum: Int64?, maximum: Int64?, choices: [Int64]?)
    case number(minimum: Double?, maximum: Double?)
    case boolean
    case anyOf([SchemaNode])
    case reference(String)
}

public struct SchemaProperty: Equatable, Sendable {
    public var name: String
    public var schema: SchemaNode
}

/// A parsed schema: the root object and the `$defs` it may refer to.
public struct ParsedSchema: Equatable, Sendable {
    public var root: SchemaNode
    public var definitions: [String: SchemaNode]

    /// The root's properties in answer order.
    public var properties: [SchemaProperty] {
        if case .object(let properties, _) = root { return properties }
        return []
    }
}

public enum SchemaSubset {
    public static func parse(_ schema: JSONObject) throws(RunnerError) -> ParsedSchema {
        try SchemaDialect.mock.check(schema)
        guard schema["type"]?.stringValue == "object" else { throw unsupported("the root must have \"type\": \"object\"") }
        var definitions: [String: SchemaNode] = [:]
        let root = try node(schema, at: SchemaDialect.root, definitions: &definitions)
        try checkReferences(root, definitions)
        for value in definitions.values { try checkReferences(value, definitions) }
        return ParsedSchema(root: root, definitions: definitions)
    }

    static func node(_ schema: JSONObject, at path: String,
                     definitions: inout [String: SchemaNode]) throws(RunnerError) -> SchemaNode {
        if let defs = schema["$defs"] {
            guard let table = defs.objectValue else { throw unsupported("\(path).$defs must be an object") }
            for (name, value) in table.pairs {
                definitions[name] = try child(value, at: SchemaDialect.child(path, "$defs.\(name)"), definitions: &definitions)
            }
        }
        if let ref = schema["$ref"] {
            guard let text = ref.stringValue, text.hasPrefix("#/$defs/"), text.count > 8 else {
                throw unsupported("\(path).$ref must be \"#/$defs/NAME\"")
            }
            return .reference(String(text.dropFirst(8)))
        }
        if let options = schema["anyOf"] {
            guard let items = options.arrayValue, !items.isEmpty else { throw unsupported("\(path).anyOf must be a non-empty array") }
            var parsed: [SchemaNode] = []
            for (i, item) in items.enumerated() {
                parsed.append(try child(item, at: SchemaDialect.child(path, "anyOf[\(i)]"), definitions: &definitions))
            }
            return .anyOf(parsed)
        }
        let type = schema["type"]?.stringValue ?? inferredType(schema)
        switch type {
        case "object": return try object(schema, at: path, definitions: &definitions)
        case "array":
            guard let items = schema["items"] else { throw unsupported("\(path) is an array without \"items\"") }
            let minItems = try count(schema, "minItems", at: path) ?? 0
            let maxItems = try count(schema, "maxItems", at: path)
            if let maxItems, minItems > maxItems { throw unsupported("\(path): minItems > maxItems") }
            let parsed = try child(items, at: SchemaDialect.child(path, "items"), definitions: &definitions)
            return .array(items: parsed, minItems: minItems, maxItems: maxItems)
        case "string": return .string(choices: try stringChoices(schema, at: path))
        case "integer":
            let minimum = try bound(schema, "minimum", at: path).map { Int64(($0).rounded(.up)) }
            let maximum = try bound(schema, "maximum", at: path).map { Int64(($0).rounded(.down)) }
            var choices: [Int64]?
            if let e = schema["enum"] {
                guard let items = e.arrayValue, !items.isEmpty, items.allSatisfy({ $0.intValue != nil }) else {
                    throw unsupported("\(path).enum must be a non-empty array of integers")
                }
                choices = items.compactMap(\.intValue)
            }
            if let minimum, let maximum, minimum > maximum { throw unsupported("\(path): minimum > maximum") }
            return .integer(minimum: minimum, maximum: maximum, choices: choices)
        case "number":
            let minimum = try bound(schema, "minimum", at: path), maximum = try bound(schema, "maximum", at: path)
            if let minimum, let maximum, minimum > maximum { throw unsupported("\(path): minimum > maximum") }
            return .number(minimum: minimum, maximum: maximum)
        case "boolean": return .boolean
        default: throw unsupported("\(path) needs a \"type\" (or \"enum\", \"anyOf\", \"$ref\")")
        }
    }

    static func object(_ schema: JSONObject, at path: String,
                       definitions: inout [String: SchemaNode]) throws(RunnerError) -> SchemaNode {
        let properties = schema["properties"]?.objectValue ?? JSONObject()
        if schema["properties"] != nil && schema["properties"]?.objectValue == nil {
            throw unsupported("\(path).properties must be an object")
        }
        var order = properties.keys
        if let xOrder = schema["x-order"] {
            let names = xOrder.arrayValue?.compactMap(\.stringValue) ?? []
            guard Set(names) == Set(properties.keys), names.count == properties.count else {
                throw unsupported("\(path).x-order must list every property exactly once")
            }
            order = names
        }
        var parsed: [SchemaProperty] = []
        for name in order {
            parsed.append(SchemaProperty(name: name, schema: try child(properties[name]!, at: SchemaDialect.child(path, "properties.\(name)"),
                                                                      definitions: &definitions)))
        }
        var required: [String] = []
        if let req = schema["required"] {
            guard let names = req.arrayValue?.compactMap(\.stringValue), names.count == req.arrayValue?.count else {
                throw unsupported("\(path).required must be an array of property names")
            }
            if let missing = names.first(where: { properties[$0] == nil }) {
                throw unsupported("\(path).required names '\(missing)', which is not a property")
            }
            required = names
        }
        return .object(properties: parsed, required: required)
    }

    static func child(_ value: JSONValue, at path: String,
                      definitions: inout [String: SchemaNode]) throws(RunnerError) -> SchemaNode {
        guard let object = value.objectValue else { throw unsupported("\(path) must be a schema object") }
        return try node(object, at: path, definitions: &definitions)
    }

    static func inferredType(_ schema: JSONObject) -> String? {
        guard let items = schema["enum"]?.arrayValue, !items.isEmpty else { return nil }
        if items.allSatisfy({ $0.stringValue != nil }) { return "string" }
        if items.allSatisfy({ $0.intValue != nil }) { return "integer" }
        return nil
    }

    static func checkReferences(_ node: SchemaNode, _ definitions: [String: SchemaNode]) throws(RunnerError) {
        switch node {
        case .reference(let name):
            if definitions[name] == nil { throw unsupported("$ref to '#/$defs/\(name)', which is not defined") }
        case .object(let properties, _):
            for property in properties { try checkReferences(property.schema, definitions) }
        case .array(let items, _, _): try checkReferences(items, definitions)
        case .anyOf(let options): for option in options { try checkReferences(option, definitions) }
        default: break
        }
    }

    static func stringChoices(_ schema: JSONObject, at path: String) throws(RunnerError) -> [String]? {
        guard let e = schema["enum"] else { return nil }
        guard let items = e.arrayValue, !items.isEmpty, items.allSatisfy({ $0.stringValue != nil }) else {
            throw unsupported("\(path).enum must be a non-empty array of strings")
        }
        return items.compactMap(\.stringValue)
    }

    static func bound(_ schema: JSONObject, _ key: String, at path: String) throws(RunnerError) -> Double? {
        guard let value = schema[key] else { return nil }
        guard let n = value.numberValue else { throw unsupported("\(path).\(key) must be a number") }
        return n
    }

    static func count(_ schema: JSONObject, _ key: String, at path: String) throws(RunnerError) -> Int? {
        guard let value = schema[key] else { return nil }
        guard let n = value.intValue, n >= 0, n <= 10_000 else { throw unsupported("\(path).\(key) must be an integer in 0...10000") }
        return Int(n)
    }

    static func unsupported(_ message: String) -> RunnerError { RunnerError(.unsupportedSchema, message) }
}
