/// The five states of a classic consumer group (Kafka's `ClassicGroupState`).
///
/// Transitions, enforced by `Group.transition(to:now:)`:
/// ```
/// Empty               -> PreparingRebalance (a member joins), Dead (deleted or expired)
/// PreparingRebalance  -> CompletingRebalance (join phase done), Empty (nobody rejoined), Dead
/// CompletingRebalance -> Stable (leader's assignment persisted), PreparingRebalance, Dead
/// Stable              -> PreparingRebalance, Dead
/// Dead                -> (none)
/// ```
public enum GroupState: String, Sendable, Equatable, CaseIterable {
    case empty = "Empty"
    case preparingRebalance = "PreparingRebalance"
    case completingRebalance = "CompletingRebalance"
    case stable = "Stable"
    case dead = "Dead"

    /// The state name Kafka reports in DescribeGroups and ListGroups (`Stable`, `Empty`, ...).
    public var kafkaName: String { rawValue }

    /// States from which `to` may be entered.
    var validPreviousStates: Set<GroupState> {
        switch self {
        case .empty: [.preparingRebalance]
        case .preparingRebalance: [.empty, .completingRebalance, .stable]
        case .completingRebalance: [.preparingRebalance]
        case .stable: [.completingRebalance]
        case .dead: [.empty, .preparingRebalance, .completingRebalance, .stable, .dead]
        }
    }

    /// Parses a state name case-insensitively, as ListGroups' StatesFilter does.
    public init?(kafkaName: String) {
        guard let match = GroupState.allCases.first(where: {
            $0.rawValue.lowercased() == kafkaName.lowercased()
        }) else { return nil }
        self = match
    }
}
