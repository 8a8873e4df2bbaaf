/// The JSON Schema subset the mock backend honours, parsed into a small model.
///
/// Root: `{"type": "object", "properties": {...}, "required": [...], "additionalProperties": bool,
/// "x-order": [...]}`. Property types: string (optional `enum`), integer and number (optional
/// `minimum`/`maximum`, integer `enum`), boolean, and arrays of strings (`items` a string schema,
/// `minItems`/`maxItems`). Annotations (`title`, `description`, `$schema`, `$id`, `$comment`,
/// `default`, `examples`) are ignored. Any other keyword (`$ref`, `$defs`, `oneOf`, `anyOf`,
/// `pattern`, `format`, `minLength`, nested objects, ...) is refused with `unsupported_schema`,
/// naming the keyword and where it is, rather than silently not honoured.
public struct ObjectSchema: Equatable, Sendable {
    public var properties: [(name: String, schema: PropertySchema)]
    public var required: [String]

    public static func == (lhs: ObjectSchema, rhs: ObjectSchema) -> Bool {
        lhs.required == rhs.required && lhs.properties.map(\.name) == rhs.properties.map(\.name)
            && lhs.properties.map(\.schema) == rhs.properties.map(\.schema)
    }
}

public enum PropertySchema: Equatable, Sendable {
    case string(choices: [String]?)
    case integer(minimum: Int64?, maximum: Int64?, choices: [Int64]?)
    case number(minimum: Double?, maximum: Double?)
    case boolean
    case stringArray(minItems: Int, maxItems: Int?, choices: [String]?)
}

public enum SchemaSubset {
    static let annotations: Set<String> = ["title", "description", "$schema", "$id", "$comment", "default", "examples"]

    public static func parse(_ schema: JSONObject) throws(RunnerError) -> ObjectSchema {
        try allow(schema, ["type", "properties", "required", "additionalProperties", "x-order"], at: "(root)")
        guard schema["type"]?.stringValue == "object" else { throw unsupported("the root must have \"type\": \"object\"") }
        guard let properties = schema["properties"]?.objectValue else { throw unsupported("the root needs \"properties\"") }
        if let extra = schema["additionalProperties"], extra.boolValue == nil {
            throw unsupported("additionalProperties must be true or false")
        }
        var order = properties.keys
        if let xOrder = schema["x-order"] {
            let names = xOrder.arrayValue?.compactMap(\.stringValue) ?? []
            guard Set(names) == Set(properties.keys), names.count == properties.count else {
                throw unsupported("x-order must list every property exactly once")
            }
            order = names
        }
        var parsed: [(String, PropertySchema)] = []
        for name in order {
            guard let property = properties[name]?.objectValue else {
                throw unsupported("property '\(name)' must be a schema object")
            }
            parsed.append((name, try parseProperty(property, at: "properties.\(name)")))
        }
        var required: [String] = []
        if let req = schema["required"] {
            guard let names = req.arrayValue?.compactMap(\.stringValue), names.count == req.arrayValue?.count else {
                throw unsupported("required must be an array of property names")
            }
            if let missing = names.first(where: { properties[$0] == nil }) {
                throw unsupported("required names '\(missing)', which is not a property")
            }
            required = names
        }
        return ObjectSchema(properties: parsed, required: required)
    }

    static func parseProperty(_ schema: JSONObject, at path: String) throws(RunnerError) -> PropertySchema {
        try allow(schema, ["type", "enum", "minimum", "maximum", "items", "minItems", "maxItems"], at: path)
        guard let type = schema["type"]?.stringValue else { throw unsupported("\(path) needs a single \"type\"") }
        switch type {
        case "string":
            try allow(schema, ["type", "enum"], at: path)
            return .string(choices: try stringChoices(schema, at: path))
        case "integer":
            try allow(schema, ["type", "enum", "minimum", "maximum"], at: path)
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
            try allow(schema, ["type", "minimum", "maximum"], at: path)
            let minimum = try bound(schema, "minimum", at: path), maximum = try bound(schema, "maximum", at: path)
            if let minimum, let maximum, minimum > maximum { throw unsupported("\(path): minimum > maximum") }
            return .number(minimum: minimum, maximum: maximum)
        case "boolean":
            try allow(schema, ["type"], at: path)
            return .boolean
        case "array":
            try allow(schema, ["type", "items", "minItems", "maxItems"], at: path)
            guard let items = schema["items"]?.objectValue, items["type"]?.stringValue == "string" else {
                throw unsupported("\(path).items must be {\"type\": \"string\"} (arrays of strings only)")
            }
            try allow(items, ["type", "enum"], at: "\(path).items")
            let minItems = try count(schema, "minItems", at: path) ?? 0
            let maxItems = try count(schema, "maxItems", at: path)
            if let maxItems, minItems > maxItems { throw unsupported("\(path): minItems > maxItems") }
            return .stringArray(minItems: minItems, maxItems: maxItems, choices: try stringChoices(items, at: "\(path).items"))
        default:
            throw unsupported("\(path) has type '\(type)'; supported: string, integer, number, boolean, array of strings")
        }
    }

    static func allow(_ schema: JSONObject, _ keys: Set<String>, at path: String) throws(RunnerError) {
        if let key = schema.keys.first(where: { !keys.contains($0) && !annotations.contains($0) }) {
            throw unsupported("keyword '\(key)' at \(path) is not supported by this backend")
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
