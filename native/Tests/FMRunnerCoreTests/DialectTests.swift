@testable import FMRunnerCore
import Foundation
import XCTest

/// The schema dialects: one file (protocol/schema-dialects.json) compiled into the binary; the mock
/// refuses and accepts exactly what the Apple backend does.
final class DialectTests: XCTestCase {
    static let dialectFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../protocol/schema-dialects.json").standardizedFileURL

    func testTheEmbeddedDialectsAreTheFileOnDisk() throws {
        let onDisk = try Data(contentsOf: Self.dialectFile)
        XCTAssertEqual(Array(onDisk), SchemaDialect.fileBytes, "rebuild: the binary embeds an old schema-dialects.json")
        XCTAssertEqual(Set(SchemaDialect.all.keys), ["apple", "mock", "llama"])
    }

    func testTheMockDialectEqualsTheAppleDialect() {
        let apple = SchemaDialect.apple, mock = SchemaDialect.mock
        XCTAssertEqual(mock.keywords, apple.keywords)
        XCTAssertEqual(mock.annotations, apple.annotations)
        XCTAssertEqual(mock.types, apple.types)
        XCTAssertEqual(mock.fullJSONSchema, apple.fullJSONSchema)
        XCTAssertFalse(apple.allows("minLength"), "Apple's GenerationSchema has no minLength")
        XCTAssertTrue(apple.allows("$ref") && apple.allows("anyOf") && apple.allows("x-order"))
        XCTAssertTrue(SchemaDialect.named("llama").fullJSONSchema)
    }

    func testARefusalNamesTheKeywordAndItsPath() {
        let schema = JSONObject([("type", "object"), ("properties", [
            "title": ["type": "string"],
            "questions": ["type": "array", "items": ["type": "string", "minLength": 1]],
        ])])
        XCTAssertThrowsError(try SchemaDialect.mock.check(schema)) { error in
            XCTAssertEqual((error as? RunnerError)?.message,
                           "keyword 'minLength' at properties.questions.items is not in the mock schema dialect")
        }
        XCTAssertThrowsError(try AppleSchemaDialect.prepare(schema)) { error in
            XCTAssertEqual((error as? RunnerError)?.message,
                           "keyword 'minLength' at properties.questions.items is not in the apple schema dialect")
        }
    }

    /// Schemas the Apple dialect allows (nested objects, $defs/$ref, anyOf, arrays of anything).
    static let appleShaped: [JSONObject] = [
        JSONObject([("type", "object"), ("$defs", ["Q": ["type": "object", "properties": [
            "text": ["type": "string"], "priority": ["type": "integer", "minimum": 1, "maximum": 3]]]]),
            ("properties", ["title": ["type": "string"],
                            "items": ["type": "array", "items": ["$ref": "#/$defs/Q"], "minItems": 3, "maxItems": 3]])]),
        JSONObject([("type", "object"), ("properties", [
            "choice": ["anyOf": [["type": "string", "enum": ["A", "B"]], ["type": "boolean"]]],
            "meta": ["type": "object", "properties": ["depth": ["type": "object", "properties": ["n": ["type": "number"]]]]],
            "counts": ["type": "array", "items": ["type": "integer"], "minItems": 2, "maxItems": 2]])]),
    ]

    func testApplePreparationAddsWhatTheDecoderNeedsEverywhere() throws {
        let prepared = try AppleSchemaDialect.prepare(Self.appleShaped[0])
        let q = try XCTUnwrap(prepared["$defs"]?.objectValue?["Q"]?.objectValue)
        XCTAssertEqual(q["x-order"], ["text", "priority"])
        XCTAssertEqual(q["additionalProperties"], false)
        XCTAssertEqual(prepared["additionalProperties"], false)
        XCTAssertEqual(prepared["title"], "Output")
    }

    func testTheMockAnswersWhatAppleAccepts() async throws {
        for schema in Self.appleShaped {
            XCTAssertNoThrow(try AppleSchemaDialect.prepare(schema))
            let answer = try await MockBackend().generate(generateRequest(schema: schema))
            XCTAssertNotNil(answer.json.objectValue, JSONValue.object(schema).jsonText)
        }
        let first = try await MockBackend().generate(generateRequest(schema: Self.appleShaped[0]))
        let items = try XCTUnwrap(first.json.objectValue?["items"]?.arrayValue)
        XCTAssertEqual(items.count, 3)
        for item in items {
            XCTAssertTrue((1...3).contains(item.objectValue?["priority"]?.intValue ?? 0))
            XCTAssertFalse(item.objectValue?["text"]?.stringValue?.isEmpty ?? true)
        }
        let second = try await MockBackend().generate(generateRequest(schema: Self.appleShaped[1]))
        XCTAssertNotNil(second.json.objectValue?["meta"]?.objectValue?["depth"]?.objectValue?["n"]?.numberValue)
        XCTAssertEqual(second.json.objectValue?["counts"]?.arrayValue?.count, 2)
    }

    func testSlotStringsAreDistinctQuestions() async throws {
        let slots = JSONObject([("type", "object"), ("properties", .object(JSONObject(
            [("title", ["type": "string"])] + (1...7).map { ("q\($0)", ["type": "string"]) })))])
        let answer = try await MockBackend().generate(generateRequest(schema: slots))
        let questions = (1...7).compactMap { answer.json.objectValue?["q\($0)"]?.stringValue }
        XCTAssertEqual(Set(questions).count, 7)
        XCTAssertTrue(questions.allSatisfy { $0.hasSuffix("?") })
    }

    func testASelfReferenceTooDeepIsADecodingFailureNotAHang() async {
        let loop = JSONObject([("type", "object"), ("$defs", ["N": ["type": "object", "properties": ["next": ["$ref": "#/$defs/N"]]]]),
                               ("properties", ["head": ["$ref": "#/$defs/N"]])])
        do {
            _ = try await MockBackend().generate(generateRequest(schema: loop))
            XCTFail("a schema that nests without end was answered")
        } catch let error as RunnerError {
            XCTAssertEqual(error.code, .decodingFailure)
        } catch {
            XCTFail("\(error)")
        }
    }

    func testProbeReportsTheDialect() async {
        let info = await MockBackend().info()
        XCTAssertEqual(info.dialect, "mock")
        XCTAssertEqual(info.json.objectValue?["dialect"], "mock")
    }
}
