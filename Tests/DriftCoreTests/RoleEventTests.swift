import DriftStorage
import Testing
@testable import DriftCore

/// Role events in the log: round trips, the format before role settings and memberships,
/// damaged bytes.
@Suite struct RoleEventTests {
    func sample() -> RoleDef {
        var role = RoleDef(id: 7, name: "batch")
        role.login = true
        role.createRole = true
        role.connectionLimit = 3
        role.validUntil = 123_456_789
        role.password = "md5" + String(repeating: "a", count: 32)
        role.config = ["statement_timeout=200ms", "application_name=batch"]
        role.memberOf = [RoleMembership(role: 3, grantor: 0, admin: true), RoleMembership(role: 300, grantor: 4, admin: false)]
        return role
    }

    func decodedRole(_ bytes: [UInt8]) throws -> RoleDef {
        let event = try bytes.withUnsafeBytes { try CatalogEvent.decode($0) }
        guard case let .createRole(role) = event else { throw DecodeError("not a role event", offset: 0) }
        return role
    }

    @Test func aRoleWithSettingsRoundTrips() throws {
        #expect(try decodedRole(CatalogEvent.createRole(sample()).encode()) == sample())
    }

    /// A role event written before role settings and memberships existed ends after the
    /// password.
    @Test func aRoleEventWithoutSettingsStillDecodes() throws {
        var old = sample()
        old.config = []
        old.memberOf = []
        var bytes = CatalogEvent.createRole(old).encode()
        #expect(bytes.suffix(2) == [0, 0])
        bytes.removeLast(2)
        #expect(try decodedRole(bytes) == old)
    }

    /// Every cut of the event but the one at the old format's end is refused, never misread.
    @Test func everyTruncationIsRefusedOrIsTheOldFormat() throws {
        let bytes = CatalogEvent.createRole(sample()).encode()
        var noSettings = sample()
        noSettings.config = []
        noSettings.memberOf = []
        let oldEnd = CatalogEvent.createRole(noSettings).encode().count - 2
        for cut in 0..<bytes.count {
            let prefix = Array(bytes[..<cut])
            if cut == oldEnd {
                #expect(try decodedRole(prefix) == noSettings)
            } else {
                #expect(throws: (any Error).self) { try decodedRole(prefix) }
            }
        }
    }
}

/// Owners and access lists in the log, and the privilege rules on them.
@Suite struct PrivilegeEventTests {
    func decoded(_ e: CatalogEvent) throws -> CatalogEvent {
        try e.encode().withUnsafeBytes { try CatalogEvent.decode($0) }
    }

    @Test func accessListsRoundTripAndEveryTruncationIsRefused() throws {
        let acl = ObjectACL(owner: 4, acl: [ACLItem(grantee: 4, grantor: 4, privileges: .table, grantOptions: .table),
                                            ACLItem(grantee: nil, grantor: 4, privileges: .select),
                                            ACLItem(grantee: 9, grantor: 4, privileges: [.select, .update], grantOptions: .select)])
        for e in [CatalogEvent.setACL(.relation(17), acl), .setACL(.schema("app"), ObjectACL(owner: 0)), .setACL(.relation(3), nil),
                  .setACL(.column(17, 2), acl), .setACL(.defaults(role: 4, schema: nil, kind: .sequences), acl),
                  .setACL(.defaults(role: 4, schema: "app", kind: .tables), nil)] {
            #expect(try decoded(e) == e)
            let bytes = e.encode()
            for cut in 0..<bytes.count {
                #expect(throws: (any Error).self) { try Array(bytes[..<cut]).withUnsafeBytes { try CatalogEvent.decode($0) } }
            }
        }
    }

    @Test func policiesRoundTripAndEveryTruncationIsRefused() throws {
        let policies = [PolicyDef(id: 40, table: 10, name: "tenant", permissive: true, command: .all, roles: [],
                                  using: "tenant = current_setting('app.t')", check: nil),
                        PolicyDef(id: 41, table: 10, name: "r", permissive: false, command: .update, roles: [2, 300],
                                  using: nil, check: "a > 1")]
        for e in policies.map(CatalogEvent.createPolicy) + [.dropPolicy(40)] {
            #expect(try decoded(e) == e)
            let bytes = e.encode()
            for cut in 0..<bytes.count {
                #expect(throws: (any Error).self) { try Array(bytes[..<cut]).withUnsafeBytes { try CatalogEvent.decode($0) } }
            }
        }
    }

    @Test func policiesBindByCommandAndRoleAndGoWithTheirTable() throws {
        var (c, group, member, blocked) = try catalog()
        try c.apply(.createPolicy(PolicyDef(id: 40, table: 10, name: "all", permissive: true, command: .all, roles: [],
                                            using: "true", check: nil)))
        try c.apply(.createPolicy(PolicyDef(id: 41, table: 10, name: "grp", permissive: true, command: .select, roles: [group.id],
                                            using: "true", check: nil)))
        #expect(c.applicablePolicies(10, command: .select, role: member).map(\.name) == ["all", "grp"])
        #expect(c.applicablePolicies(10, command: .update, role: member).map(\.name) == ["all"])
        #expect(c.applicablePolicies(10, command: .select, role: blocked).map(\.name) == ["all"])
        // Off until enabled; the owner (the bootstrap superuser here) is never a role it binds.
        let table = try #require(c.tables[10])
        #expect(!c.rowSecurityApplies(to: member, on: table))
        try c.apply(.setOption(10, Catalog.rowSecurityOption, "on"))
        #expect(c.rowSecurityApplies(to: member, on: table))
        try c.apply(.dropTable(10))
        #expect(c.policies.isEmpty)
    }

    func catalog() throws -> (Catalog, RoleDef, RoleDef, RoleDef) {
        var c = Catalog()
        var group = RoleDef(id: 1, name: "group")
        group.inherit = true
        var member = RoleDef(id: 2, name: "member")
        member.memberOf = [RoleMembership(role: 1, grantor: 0, admin: false)]
        var blocked = RoleDef(id: 3, name: "blocked")
        blocked.inherit = false
        blocked.memberOf = [RoleMembership(role: 1, grantor: 0, admin: false)]
        for r in [group, member, blocked] { try c.apply(.createRole(r)) }
        try c.apply(.createTable(TableDef(id: 10, name: "t", columns: [ColumnDef(name: "a", type: .int4)], primaryKey: [], indexes: [], origin: .sql)))
        return (c, group, member, blocked)
    }

    @Test func defaultPrivilegesShapeNewObjectsAndGoWithTheirSchema() throws {
        var (c, group, _, _) = try catalog()
        // No entry: the built-in default (nil list).
        #expect(c.initialACL(kind: .tables, owner: 4, schema: "public") == nil)
        let global = [ACLItem(grantee: 4, grantor: 4, privileges: [.select, .insert]), ACLItem(grantee: group.id, grantor: 4, privileges: .select)]
        try c.apply(.setACL(.defaults(role: 4, schema: nil, kind: .tables), ObjectACL(owner: 4, acl: global)))
        try c.apply(.createSchema("app"))
        try c.apply(.setACL(.defaults(role: 4, schema: "app", kind: .tables),
                            ObjectACL(owner: 4, acl: [ACLItem(grantee: group.id, grantor: 4, privileges: .insert, grantOptions: .insert),
                                                      ACLItem(grantee: nil, grantor: 4, privileges: .select)])))
        // The global list in place of the built-in one; the schema's merged in; sorted as
        // PostgreSQL sorts them (PUBLIC first, then by grantee).
        #expect(c.initialACL(kind: .tables, owner: 4, schema: "public") == global.reversed())
        #expect(c.initialACL(kind: .tables, owner: 4, schema: "app") == [
            ACLItem(grantee: nil, grantor: 4, privileges: .select),
            ACLItem(grantee: group.id, grantor: 4, privileges: [.select, .insert], grantOptions: .insert),
            ACLItem(grantee: 4, grantor: 4, privileges: [.select, .insert])])
        // Another owner or kind is untouched; the schema's entry goes with the schema.
        #expect(c.initialACL(kind: .tables, owner: 5, schema: "app") == nil)
        #expect(c.initialACL(kind: .sequences, owner: 4, schema: "app") == nil)
        try c.apply(.dropSchema("app"))
        #expect(c.acls[.defaults(role: 4, schema: "app", kind: .tables)] == nil)
        #expect(c.acls[.defaults(role: 4, schema: nil, kind: .tables)] != nil)
        // The owner's entry keeps the role from being dropped.
        #expect(c.dependents(of: 4) == [.defaults(role: 4, schema: nil, kind: .tables)])
        #expect(c.dependents(of: group.id) == [.defaults(role: 4, schema: nil, kind: .tables)])
    }

    @Test func privilegesComeDirectlyThroughInheritanceAndPublic() throws {
        var (c, group, member, blocked) = try catalog()
        #expect(c.privileges(of: member, on: .relation(10)).isEmpty)
        try c.apply(.setACL(.relation(10), ObjectACL(owner: 0, acl: c.effectiveACL(.relation(10))
            + [ACLItem(grantee: group.id, grantor: 0, privileges: .select), ACLItem(grantee: nil, grantor: 0, privileges: .insert)])))
        #expect(c.privileges(of: group, on: .relation(10)) == [.select, .insert])
        #expect(c.privileges(of: member, on: .relation(10)) == [.select, .insert])
        // NOINHERIT: only PUBLIC's, though it may SET ROLE to the group.
        #expect(c.privileges(of: blocked, on: .relation(10)) == .insert)
        #expect(c.memberRoles(of: blocked).contains(group.id))
        // The default list: the owner holds all; dropping the table drops its list.
        #expect(c.effectiveACL(.schema("public")).contains { $0.grantee == nil && $0.privileges == .usage })
        try c.apply(.dropTable(10))
        #expect(c.acls.isEmpty)
    }
}
