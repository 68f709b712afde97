/// Kafka's `cooperative-sticky` strategy (KIP-429): balanced like round-robin, but members keep
/// the partitions they already own wherever balance allows, and a partition that must move to
/// another member is *withheld* for one rebalance: its current owner revokes it, rejoins, and
/// the follow-up rebalance hands it to the new owner. No partition is ever owned by two members
/// at once, and partitions that do not move are never paused.
///
/// The algorithm (a simpler cousin of Java's `AbstractStickyAssignor`, with the same outcome on
/// the cases that matter: balance within one partition when subscriptions are equal, maximal
/// stickiness, no double ownership):
/// 1. ownership claims: a member keeps a claim on a partition it owned if it still subscribes
///    to the topic; two claims on one partition go to the higher generation (a tie voids both);
/// 2. members over quota release their highest partitions (quota = floor or ceil of
///    partitions / members, with only `partitions % members` members at ceil);
/// 3. unowned partitions go to the eligible member with the fewest partitions;
/// 4. while a partition can move from a member to an eligible one with at least two fewer, move it;
/// 5. a partition now assigned away from a member that still claims it is withheld.
public struct CooperativeStickyAssignor: PartitionAssignor {
    public init() {}
    public var name: AssignorName { .cooperativeSticky }

    public func assign(members: [GroupMemberSubscription], partitionCounts: [String: Int32]) -> [String: [TopicPartition]] {
        let sorted = members.sorted(by: GroupMemberSubscription.kafkaOrder)
        var result = Dictionary(uniqueKeysWithValues: members.map { ($0.memberId, [TopicPartition]()) })
        guard !sorted.isEmpty else { return result }
        let rank = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1.memberId, $0) })
        let subscriptions = Dictionary(uniqueKeysWithValues: sorted.map { ($0.memberId, Set($0.topics)) })

        var all: [TopicPartition] = []
        for topic in Set(members.flatMap(\.topics)).sorted() {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            for p in 0..<count { all.append(TopicPartition(topic, p)) }
        }
        let exists = Set(all)

        // 1. Claims.
        var owner: [TopicPartition: (member: String, generation: Int32)] = [:]
        var voided = Set<TopicPartition>()
        for member in sorted {
            for tp in member.ownedPartitions where exists.contains(tp) && subscriptions[member.memberId]!.contains(tp.topic) {
                if voided.contains(tp) { continue }
                if let current = owner[tp] {
                    if member.generationId > current.generation {
                        owner[tp] = (member.memberId, member.generationId)
                    } else if member.generationId == current.generation {
                        owner[tp] = nil
                        voided.insert(tp)
                    }
                } else {
                    owner[tp] = (member.memberId, member.generationId)
                }
            }
        }
        var assigned: [String: [TopicPartition]] = Dictionary(uniqueKeysWithValues: sorted.map { ($0.memberId, []) })
        for (tp, claim) in owner { assigned[claim.member]!.append(tp) }
        for key in assigned.keys { assigned[key]!.sort() }

        // 2. Quotas (exact when subscriptions are equal; step 4 evens out the rest).
        let floorQuota = all.count / sorted.count
        var ceilSlots = all.count % sorted.count
        for member in sorted {
            let id = member.memberId
            let count = assigned[id]!.count
            var limit = floorQuota
            if count > floorQuota, ceilSlots > 0 {
                limit = floorQuota + 1
                ceilSlots -= 1
            }
            if count > limit { assigned[id]!.removeLast(count - limit) }
        }

        // 3. Unowned partitions to the least-loaded eligible member.
        let placed = Set(assigned.values.joined())
        for tp in all where !placed.contains(tp) {
            let candidates = sorted.filter { subscriptions[$0.memberId]!.contains(tp.topic) }
            guard let target = candidates.min(by: { lhs, rhs in
                let l = assigned[lhs.memberId]!.count, r = assigned[rhs.memberId]!.count
                return l == r ? rank[lhs.memberId]! < rank[rhs.memberId]! : l < r
            }) else { continue }
            assigned[target.memberId]!.append(tp)
        }

        // 4. Balance. Each move lowers the sum of squared counts, so this terminates.
        var moved = true
        while moved {
            moved = false
            let byLoad = sorted.map(\.memberId).sorted { assigned[$0]!.count > assigned[$1]!.count }
            search: for heavy in byLoad {
                for light in byLoad.reversed() where assigned[heavy]!.count > assigned[light]!.count + 1 {
                    let lightTopics = subscriptions[light]!
                    // Prefer moving a partition the heavy member did not own before (keeps stickiness).
                    let movable = assigned[heavy]!.filter { lightTopics.contains($0.topic) }
                    guard let tp = movable.last(where: { owner[$0]?.member != heavy }) ?? movable.last else { continue }
                    assigned[heavy]!.removeAll { $0 == tp }
                    assigned[light]!.append(tp)
                    moved = true
                    break search
                }
            }
        }

        // 5. Withhold partitions still owned by another member: they are revoked first.
        for (id, partitions) in assigned {
            result[id] = partitions.filter { tp in
                guard let claim = owner[tp] else { return true }
                return claim.member == id
            }.sorted()
        }
        return result
    }
}
