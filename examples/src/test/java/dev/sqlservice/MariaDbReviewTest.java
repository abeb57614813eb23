package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.sqlservice.testing.TestDatabase;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.TimeZone;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Independent review of branch {@code maria}: MariaDB's {@code SET STATEMENT … FOR} prefix
 * ({@code group_concat_max_len} = 1 GiB, first keyword compared in place instead of a regex) and saveAll's read-back
 * of {@code OffsetDateTime} columns ({@code MariaDbBackend.OffsetDateTimeFromUtc}). A test named after a defect
 * fails while the defect is there (see docs/reviews/mariadb-statements.md); the others check what was found sound.
 * Run on MariaDB: {@code SQLSERVICE_TEST_URL=jdbc:mariadb://127.0.0.1:3306/test SQLSERVICE_TEST_USER=root}.
 */
@ExampleDatabase
class MariaDbReviewTest {

    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    /** 3,000 rows of 1,000 characters: a group_concat of them is 3,002,999 characters, well over 1 MiB. */
    private static final int ROWS = 3_000;
    private static final int LONG_CONCAT = ROWS * 1_001 - 1;

    private static void assumeMariaDb(Database db) {
        Assumptions.assumeTrue(db.dialect().family() == SQLDialect.MARIADB, "MariaDB's SET STATEMENT under review");
    }

    private static void longRows(DSLContext dsl) {
        dsl.execute("create table review_gc_src (id int primary key, s varchar(1000))");
        dsl.execute("insert into review_gc_src select seq, repeat('x', 1000) from seq_1_to_" + ROWS);
        dsl.execute("create table review_gc_dst (id int primary key, v longtext)");
    }

    private static void dropLongRows(DSLContext dsl) {
        dsl.execute("drop table if exists review_gc_src, review_gc_dst");
    }

    /** A Database over a pool whose sessions use time_zone '+05:00' (a user's connectionInitSql). */
    private static HikariDataSource shiftedPool(TestDatabase test) {
        return TestPools.pool(test, 1, "set time_zone = '+05:00'");
    }

    // ---------------------------------------------------------------------------------------------------------
    // group_concat

    /** Checked sound: a query's group_concat over 1 MiB comes back whole, through all(), first() and a prepared query. */
    @Test
    void group_concat_of_a_query_longer_than_1_MiB_is_complete(Database db, DSLContext dsl, TestDatabase test) {
        assumeMariaDb(db);
        longRows(dsl);
        // a data source handed in: its sessions keep the server's 1 MiB, only the statement prefix raises it
        try (HikariDataSource pool = TestPools.pool(test, 1); Database handedIn = Database.builder().dataSource(pool).build()) {
            for (Database under : List.of(db, handedIn)) {
            Session s = under.blockingSession();
            assertThat(s.all("select group_concat(s) from review_gc_src").getFirst().get(0, String.class))
                    .hasSize(LONG_CONCAT);
            assertThat(s.first(DSL.select(DSL.groupConcat(DSL.field("s", String.class)))
                    .from(DSL.table("review_gc_src"))).orElseThrow().value1()).hasSize(LONG_CONCAT);
            assertThat(s.one(under.prepare("with t as (select s from review_gc_src) select group_concat(s) from t"))
                    .get(0, String.class)).hasSize(LONG_CONCAT);
            assertThat(s.all("(select group_concat(s) from review_gc_src)").getFirst().get(0, String.class))
                    .hasSize(LONG_CONCAT);
            List<String> warnings = s.transaction(tx -> {
                tx.all("select group_concat(s) from review_gc_src");
                return tx.dsl().fetch("show warnings").map(r -> r.get(1) + " " + r.get(2));
            });
            assertThat(warnings).isEmpty();
            }
        } finally {
            dropLongRows(dsl);
        }
    }

    /**
     * DEFECT (pre-existing, unchanged by the branch): writes get {@code SET STATEMENT time_zone} only, without
     * {@code group_concat_max_len}. The library's own pool sets 1 GiB per session ({@code sessionInitSql}), but
     * over a data source handed in (sessions at the server's default 1 MiB) an {@code INSERT … SELECT
     * group_concat(…)} or {@code UPDATE … = (SELECT group_concat(…))} longer than 1 MiB fails in a strict session
     * ("Row … was cut by GROUP_CONCAT()", the server's default sql_mode here), while the same SELECT succeeds.
     */
    @Test
    void insert_select_group_concat_over_1_MiB_fails_over_a_handed_in_pool_because_writes_get_no_group_concat_max_len(Database db,
            DSLContext dsl, TestDatabase test) {
        assumeMariaDb(db);
        longRows(dsl);
        try (HikariDataSource pool = TestPools.pool(test, 1); Database handedIn = Database.builder().dataSource(pool).build()) {
            Session s = handedIn.blockingSession();
            s.execute("insert into review_gc_dst select 1, group_concat(s) from review_gc_src");
            s.execute(DSL.insertInto(DSL.table("review_gc_dst"))
                    .select(DSL.select(DSL.inline(2), DSL.groupConcat(DSL.field("s", String.class)))
                            .from(DSL.table("review_gc_src"))));
            s.execute("insert into review_gc_dst values (3, '')");
            s.execute("update review_gc_dst set v = (select group_concat(s) from review_gc_src) where id = 3");
            assertThat(dsl.resultQuery("select length(v) from review_gc_dst order by id").fetch(0, Integer.class))
                    .as("insert … select (plain SQL), insert … select (jOOQ), update … = (select group_concat)")
                    .containsExactly(LONG_CONCAT, LONG_CONCAT, LONG_CONCAT);
        } finally {
            dropLongRows(dsl);
        }
    }

    /**
     * DEFECT (pre-existing, same cause): in a session that is not strict (a handed-in pool with {@code sql_mode =
     * ''}), a write the library wraps stores only 1 MiB of a longer group_concat, silently, and leaves warning
     * 1260 ("Row … was cut by GROUP_CONCAT()").
     */
    @Test
    void a_wrapped_write_in_a_non_strict_session_stores_1_MiB_of_a_group_concat_and_leaves_warning_1260(Database db,
            DSLContext dsl, TestDatabase test) {
        assumeMariaDb(db);
        longRows(dsl);
        try (HikariDataSource pool = TestPools.pool(test, 1, "set time_zone = '+00:00', sql_mode = ''");
                Database handedIn = Database.builder().dataSource(pool).build()) {
            List<String> warnings = handedIn.blockingSession().transaction(tx -> {
                tx.execute("insert into review_gc_dst select 1, group_concat(s) from review_gc_src");
                return tx.dsl().fetch("show warnings").map(r -> r.get(1) + " " + r.get(2));
            });
            assertThat(warnings + " length " + dsl.resultQuery("select length(v) from review_gc_dst").fetchOne(0,
                    Integer.class)).isEqualTo("[] length " + LONG_CONCAT);
        } finally {
            dropLongRows(dsl);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Statements not wrapped: they run in the session's time zone (here a user's '+05:00'), not UTC

    /** Checked sound: the statements the library recognizes run in UTC whatever the session says. */
    @Test
    void recognized_statements_run_in_utc_in_a_plus_05_session(Database db, TestDatabase test) {
        assumeMariaDb(db);
        try (HikariDataSource pool = shiftedPool(test); Database shifted = Database.builder().dataSource(pool).build()) {
            Session s = shifted.blockingSession();
            for (String sql : List.of("select @@time_zone", "SELECT @@time_zone", "  \n\tselect @@time_zone",
                    "(select @@time_zone)", "((select @@time_zone)) union (select 'x')", "/* c */ select @@time_zone",
                    "-- c\nselect @@time_zone", "# c\nselect @@time_zone", "with t as (select @@time_zone) select * from t",
                    "WITH RECURSIVE t(z) as (select @@time_zone) select * from t", "Select(@@time_zone)")) {
                assertThat(s.first(sql).orElseThrow().get(0, String.class)).as(sql).isEqualTo("+00:00");
            }
        }
    }

    /**
     * DEFECT (pre-existing, same as the regex): a statement in a MariaDB executable comment ({@code /*!…*}{@code /},
     * {@code /*M!…*}{@code /}) is not wrapped: keywordStart stops at {@code /*!} and skips {@code /*M!} as a comment.
     */
    @Test
    void a_query_in_an_executable_comment_runs_in_the_sessions_time_zone(Database db, TestDatabase test) {
        assumeMariaDb(db);
        try (HikariDataSource pool = shiftedPool(test); Database shifted = Database.builder().dataSource(pool).build()) {
            Session s = shifted.blockingSession();
            List<String> zones = new ArrayList<>();
            for (String sql : List.of("/*!100000 select @@time_zone */", "/*M!100000 select @@time_zone */")) {
                zones.add(sql + " -> " + s.first(sql).orElseThrow().get(0, String.class));
            }
            assertThat(zones).containsExactly("/*!100000 select @@time_zone */ -> +00:00",
                    "/*M!100000 select @@time_zone */ -> +00:00");
        }
    }

    /** DEFECT (pre-existing): a {@code VALUES} statement (a query, MariaDB 10.3+) is not wrapped. */
    @Test
    void a_values_statement_runs_in_the_sessions_time_zone(Database db, TestDatabase test) {
        assumeMariaDb(db);
        try (HikariDataSource pool = shiftedPool(test); Database shifted = Database.builder().dataSource(pool).build()) {
            assertThat(shifted.blockingSession().first("values (@@time_zone)").orElseThrow().get(0, String.class))
                    .isEqualTo("+00:00");
        }
    }

    /**
     * DEFECT (pre-existing): {@code CALL} is not wrapped, so a procedure's queries and writes use the session's
     * time zone (and the 1 MiB group_concat limit).
     */
    @Test
    void a_call_runs_in_the_sessions_time_zone(Database db, DSLContext dsl, TestDatabase test) {
        assumeMariaDb(db);
        dsl.execute("create or replace procedure review_zone() select @@time_zone");
        try (HikariDataSource pool = shiftedPool(test); Database shifted = Database.builder().dataSource(pool).build()) {
            assertThat(shifted.blockingSession().all("call review_zone()").getFirst().get(0, String.class))
                    .isEqualTo("+00:00");
        } finally {
            dsl.execute("drop procedure if exists review_zone");
        }
    }

    /**
     * DEFECT (pre-existing): {@code CREATE TABLE … AS SELECT} (DDL writing rows) is not wrapped: TIMESTAMP values
     * are converted in the session's time zone.
     */
    @Test
    void create_table_as_select_runs_in_the_sessions_time_zone(Database db, DSLContext dsl, TestDatabase test) {
        assumeMariaDb(db);
        try (HikariDataSource pool = shiftedPool(test); Database shifted = Database.builder().dataSource(pool).build()) {
            shifted.blockingSession().execute("create table review_ctas as select @@time_zone as z");
            assertThat(dsl.resultQuery("select z from review_ctas").fetchOne(0, String.class)).isEqualTo("+00:00");
        } finally {
            dsl.execute("drop table if exists review_ctas");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Row limits (first() / one()): sql_select_limit joins the prefix

    /** Checked sound: first() limits the top-level result only, not a CTE, derived table, union or subquery. */
    @Test
    void first_limits_only_the_top_level_result(Database db) {
        assumeMariaDb(db);
        Session s = db.blockingSession();
        assertThat(s.first("with recursive t(n) as (select 1 union all select n + 1 from t where n < 5)"
                + " select count(*) from t").orElseThrow().get(0, Integer.class)).isEqualTo(5);
        assertThat(s.first("select count(*) from (select 1 union all select 2) t").orElseThrow().get(0, Integer.class))
                .isEqualTo(2);
        assertThat(s.first("select (select group_concat(n) from (select 1 n union all select 2) x)").orElseThrow()
                .get(0, String.class)).isEqualTo("1,2");
        assertThat(s.all("(select 1) union all (select 2)")).hasSize(2);
        assertThat(s.first("(select 1) union all (select 2)")).isPresent();
        assertThat(s.oneOrNone("select 1 from seq_1_to_5 where seq < 2")).isPresent();
    }

    /**
     * Probe: {@code first()} of an {@code INSERT … RETURNING} (a write the library wraps, in a call with
     * maxRows): Connector/J's own SQL_SELECT_LIMIT prefix must not collide with the library's.
     */
    @Test
    void first_of_insert_returning_runs(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table review_ret (id int primary key)");
        try {
            assertThat(db.blockingSession().first("insert into review_ret values (1), (2) returning id")).isPresent();
            assertThat(dsl.fetchCount(DSL.table("review_ret"))).isEqualTo(2);
        } finally {
            dsl.execute("drop table review_ret");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // saveAll's read-back against queries

    /**
     * DEFECT (new with the branch): in a JVM zone with DST, saveAll's read-back (OffsetDateTimeFromUtc) and a query
     * (jOOQ's getString path) read the same stored row an hour apart when its UTC wall clock is in the zone's
     * spring-forward gap: the record saveAll refreshed is no longer equal to the record a query returns.
     */
    @org.junit.jupiter.api.Disabled("known, documented in README Backends: queries read TIMESTAMP/DATETIME through jOOQ's text path, which"
            + " Connector/J formats in the JVM zone (an hour late in its spring-forward gap); saveAll's refresh reads"
            + " getObject(LocalDateTime) as UTC and is right. Fixing queries needs their result sets read the same way")
    @Test
    void saveAll_and_a_query_read_the_same_row_an_hour_apart_in_the_jvm_zones_dst_gap(Database db, DSLContext dsl) {
        assumeMariaDb(db);
        dsl.execute("create table " + DirectBindReviewTest.Plain.NAME + " (id bigint primary key, s smallint, i int,"
                + " l bigint, d decimal(30,10), txt varchar(100), ts timestamp(6) null, dt datetime(6))");
        OffsetDateTime inGap = OffsetDateTime.of(2026, 3, 29, 2, 30, 0, 0, ZoneOffset.UTC);
        TimeZone previous = TimeZone.getDefault();
        TimeZone.setDefault(TimeZone.getTimeZone(BERLIN));
        try {
            DirectBindReviewTest.PlainRecord saved = new DirectBindReviewTest.PlainRecord();
            saved.set(DirectBindReviewTest.Plain.T.ID, 1L);
            saved.set(DirectBindReviewTest.Plain.T.TS, inGap);
            saved.set(DirectBindReviewTest.Plain.T.DT, inGap);
            db.blockingSession().saveAll(List.of(saved));
            DirectBindReviewTest.PlainRecord read = db.blockingSession()
                    .one(DSL.selectFrom(DirectBindReviewTest.Plain.T).where(DirectBindReviewTest.Plain.T.ID.eq(1L)));
            assertThat(read.get(DirectBindReviewTest.Plain.T.TS) + "|" + read.get(DirectBindReviewTest.Plain.T.DT))
                    .as("query vs saveAll's read-back")
                    .isEqualTo(saved.get(DirectBindReviewTest.Plain.T.TS) + "|" + saved.get(DirectBindReviewTest.Plain.T.DT));
        } finally {
            TimeZone.setDefault(previous);
            dsl.execute("drop table " + DirectBindReviewTest.Plain.NAME);
        }
    }

    /**
     * Checked sound: in a session on '+05:00', TIMESTAMP and DATETIME of 0, 3 and 6 fractional digits and NULL,
     * saveAll's read-back (insert and update path) equals what a query reads and what was stored.
     */
    @Test
    void saveAll_read_back_equals_a_query_in_a_plus_05_session(Database db, DSLContext dsl, TestDatabase test) {
        assumeMariaDb(db);
        OffsetDateTime at = OffsetDateTime.of(2026, 7, 1, 12, 30, 15, 123_456_789, ZoneOffset.ofHours(-3));
        for (String digits : List.of("", "(3)", "(6)")) {
            dsl.execute("create table " + DirectBindReviewTest.Plain.NAME + " (id bigint primary key, s smallint,"
                    + " i int, l bigint, d decimal(30,10), txt varchar(100), ts timestamp" + digits + " null,"
                    + " dt datetime" + digits + " null)");
            try (HikariDataSource pool = shiftedPool(test); Database shifted = Database.builder().dataSource(pool).build()) {
                for (int round = 0; round < 2; round++) {
                    DirectBindReviewTest.PlainRecord saved = new DirectBindReviewTest.PlainRecord();
                    saved.set(DirectBindReviewTest.Plain.T.ID, 1L);
                    saved.set(DirectBindReviewTest.Plain.T.TS, at);
                    saved.set(DirectBindReviewTest.Plain.T.DT, round == 0 ? at : null);
                    shifted.blockingSession().saveAll(List.of(saved));
                    DirectBindReviewTest.PlainRecord read = shifted.blockingSession().one(
                            DSL.selectFrom(DirectBindReviewTest.Plain.T).where(DirectBindReviewTest.Plain.T.ID.eq(1L)));
                    String fromSave = saved.get(DirectBindReviewTest.Plain.T.TS) + "|" + saved.get(DirectBindReviewTest.Plain.T.DT);
                    String fromQuery = read.get(DirectBindReviewTest.Plain.T.TS) + "|" + read.get(DirectBindReviewTest.Plain.T.DT);
                    assertThat(fromSave).as("digits %s, round %d", digits, round).isEqualTo(fromQuery);
                    assertThat(saved.get(DirectBindReviewTest.Plain.T.TS).toInstant()).as("digits %s", digits)
                            .isEqualTo(MariaDbBackend.MARIADB.storedTimestamp(at.toInstant(),
                                    digits.isEmpty() ? 0 : digits.charAt(1) - '0'));
                    long epoch = dsl.resultQuery("select unix_timestamp(ts) from " + DirectBindReviewTest.Plain.NAME)
                            .fetchOne(0, java.math.BigDecimal.class).longValue();
                    assertThat(epoch).isEqualTo(at.toEpochSecond());
                }
            } finally {
                dsl.execute("drop table " + DirectBindReviewTest.Plain.NAME);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // statementSql against the regex it replaced (no database)

    private static final Pattern QUERY_OR_WRITE =
            Pattern.compile("(?i)[\\s(]*(select|insert|update|delete|replace|with)\\b");

    private static boolean regexWraps(String sql) {
        Matcher m = QUERY_OR_WRITE.matcher(sql).region(Backend.keywordStart(sql), sql.length());
        return m.lookingAt();
    }

    /**
     * DIVERGENCE (info): the in-place comparison is not the regex. {@code regionMatches(ignoreCase)} folds
     * Unicode case ({@code ſ} U+017F upper-cases to {@code S}, dotless {@code ı} to {@code I}), the regex's
     * {@code (?i)} is ASCII-only; and the regex's {@code \b} is ASCII-only on JDK 19+, where the new code treats
     * any Unicode letter or digit as part of the word. MariaDB rejects all of these statements either way, so only
     * the error differs; but MariaDbStatementSqlTest's claim "wraps exactly what the regex wrapped" does not hold.
     */
    @Test
    void statementSql_wraps_differently_from_the_regex_for_non_ascii_letters() {
        List<String> differ = new ArrayList<>();
        for (String sql : List.of("ſelect 1", "ınsert into t values (1)", "selectä from t", "update\u0663 t")) {
            boolean wraps = !MariaDbBackend.MARIADB.statementSql(sql, 0).equals(sql);
            if (wraps != regexWraps(sql)) {
                differ.add(sql + (wraps ? " (wrapped, regex did not)" : " (not wrapped, regex did)"));
            }
        }
        assertThat(differ).isEmpty();
    }
}
