/// Writes the Anthropic models list (`GET /v1/models`).
public enum ModelsList {
    /// `{"data":[{"type":"model","id":…,"display_name":…,"created_at":…},…],"has_more":false,"first_id":…,"last_id":…}`;
    /// `first_id` and `last_id` are `null` when `models` is empty.
    public static func jsonBody(_ models: [(id: String, displayName: String, createdAt: String)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + models.count * 120)
        JSONText.append(ascii: #"{"data":["#, to: &out)
        for (index, model) in models.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.append(ascii: #"{"type":"model","id":"#, to: &out)
            JSONText.appendQuoted(model.id, to: &out)
            JSONText.append(ascii: #","display_name":"#, to: &out)
            JSONText.appendQuoted(model.displayName, to: &out)
            JSONText.append(ascii: #","created_at":"#, to: &out)
            JSONText.appendQuoted(model.createdAt, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        JSONText.append(ascii: #"],"has_more":false,"first_id":"#, to: &out)
        if let first = models.first { JSONText.appendQuoted(first.id, to: &out) } else { JSONText.append(ascii: "null", to: &out) }
        JSONText.append(ascii: #","last_id":"#, to: &out)
        if let last = models.last { JSONText.appendQuoted(last.id, to: &out) } else { JSONText.append(ascii: "null", to: &out) }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
