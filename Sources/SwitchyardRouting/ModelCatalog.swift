import SwitchyardConfig

/// Resolves the model a request names — a model id or one of its aliases — to the configured model.
///
/// Built once from the configuration; lookups are one dictionary access.
public struct ModelCatalog: Sendable {
    public let models: [ModelConfig]
    private let byName: [String: Int]

    public init(models: [ModelConfig]) {
        self.models = models
        var byName: [String: Int] = [:]
        for (index, model) in models.enumerated() {
            byName[model.id] = byName[model.id] ?? index
            for alias in model.aliases { byName[alias] = byName[alias] ?? index }
        }
        self.byName = byName
    }

    /// The model named `name` (an id or alias), or nil.
    public func model(named name: String) -> ModelConfig? {
        byName[name].map { models[$0] }
    }

    /// The names a client may use, for error messages: ids first, then aliases, at most `limit`.
    public func knownNames(limit: Int = 20) -> [String] {
        let names = models.map(\.id) + models.flatMap(\.aliases)
        return Array(names.prefix(limit))
    }
}
