package dev.sqlservice;

import static dev.sqlservice.example.schema.Tables.POSTS;
import static dev.sqlservice.example.schema.Tables.POST_TAGS;
import static dev.sqlservice.example.schema.Tables.USERS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sqlservice.example.schema.enums.PostStatus;
import dev.sqlservice.example.schema.tables.records.PostTagsRecord;
import dev.sqlservice.example.schema.tables.records.PostsRecord;
import dev.sqlservice.example.schema.tables.records.UsersRecord;
import dev.sqlservice.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.SimpleFormatter;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.jooq.DSLContext;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.SQLDialect;
import org.jooq.TableField;
import org.jooq.UpdatableRecord;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Hostile input: a catalogue of injection payloads, lexer traps, parameter misuse, bad records and rows the
 * database rejects, each with the outcome it must have (a round trip as data, an exception thrown on the calling
 * thread before any SQL, or a {@link DataAccessException} with the right SQLState), a message naming the problem,
 * and the database rows unchanged afterwards. Then the secrets: a failed {@code build()} never shows a password,
 * not in messages, cause chains, stack traces or logs.
 *
 * <p>Each case runs on a {@link Database} of its own over the shared test pool, whose data source and executor
 * count what they are asked for: "misuse throws before any SQL" is checked as "no connection was borrowed and no
 * task was submitted".
 */
@ExampleDatabase
@Tag("reliability")
class HostileInputTest {

    /** A hang guard, not a timing assertion: every case completes long before it. */
    private static final long WAIT_SECONDS = 300;
    private static final OffsetDateTime SEEDED = OffsetDateTime.of(2001, 2, 3, 4, 5, 6, 0, ZoneOffset.UTC);

    private static final String SQL_INJECTION = "'; drop table users; --";
    private static final String TAUTOLOGY = "' or '1'='1";
    private static final String URL_SECRET = "Url-S3cret-7f3a";
    private static final String BUILDER_SECRET = "Builder-S3cret-91c2";

    private boolean postgres;
    private DSLContext dsl;
    private TestDatabase test;
    private Database mine;
    private com.zaxxer.hikari.HikariDataSource pool;
    private ExecutorService threads;
    private final AtomicInteger borrowed = new AtomicInteger();
    private final AtomicInteger submitted = new AtomicInteger();

    @BeforeEach
    void setUp(Database shared, DSLContext dsl, TestDatabase test) {
        this.dsl = dsl;
        this.test = test;
        this.postgres = test.dialect().family() == SQLDialect.POSTGRES;
        seed(dsl);
        threads = Executors.newVirtualThreadPerTaskExecutor();
        Executor counting = task -> {
            submitted.incrementAndGet();
            threads.execute(task);
        };
        // A pool of its own over the test database: connections a Database takes through another one's jOOQ
        // configuration belong to that database (they are counted and given back through it), not to a caller.
        pool = TestPools.pool(test, 4);
        mine = Database.builder()
                .dataSource(countingDataSource(pool, borrowed))
                .dialect(test.dialect())
                .executor(counting)
                .poolSize(4)
                .build();
        // build() checks one session of a data source handed in (MariaDB's time zone): not a connection of a case.
        borrowed.set(0);
    }

    @AfterEach
    void tearDown() {
        if (mine != null) {
            mine.close();
        }
        if (pool != null) {
            pool.close();
        }
        if (threads != null) {
            threads.close();
        }
    }

    // =========================================================================================================
    // The catalogue
    // =========================================================================================================

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void hostile_input(Case c) {
        Expect expect = postgres ? c.postgres() : c.mariadb();
        assumeTrue(expect != null, c.name() + " does not apply to " + test.dialect());
        List<List<Object>> before = snapshot(dsl);
        assertThat(before).as("seeded rows").hasSize(9);
        Env env = new Env(mine.session(), mine.blockingSession(), dsl, postgres);

        Outcome outcome = run(c.action(), env);

        switch (expect) {
            case Returns r -> checkReturns(outcome, r);
            case Misuse m -> checkMisuse(outcome, m);
            case Fails f -> checkFails(outcome, f);
        }
        assertThat(snapshot(dsl)).as("users, posts and post_tags after %s", c.name()).isEqualTo(before);
        assertThat(mine.activeConnections()).as("connections still borrowed after %s", c.name()).isZero();
        if (c.after() != null) {
            c.after().accept(env);
        }
    }

    @Test
    void the_catalogue_has_at_least_30_distinct_cases_on_this_backend() {
        List<Case> all = cases().toList();
        long applicable = all.stream().filter(c -> (postgres ? c.postgres() : c.mariadb()) != null).count();

        assertThat(applicable).as("cases that run on %s", test.dialect()).isGreaterThanOrEqualTo(30);
        assertThat(all.stream().map(Case::name).toList()).doesNotHaveDuplicates();
    }

    static Stream<Case> cases() {
        List<Case> cases = new ArrayList<>();

        // ---- injection payloads as values: bound, never spliced, so they come back as data -------------------
        cases.add(roundTrip("payload: '; drop table users; --", SQL_INJECTION));
        cases.add(roundTrip("payload: ' or '1'='1", TAUTOLOGY));
        cases.add(roundTrip("payload: backslash-quote \\'; -- and a trailing backslash", "\\'; -- \\"));
        cases.add(roundTrip("payload: $$; drop table users; $$", "$$; drop table users; $$"));
        cases.add(roundTrip("payload: an unterminated /*", "/*"));
        cases.add(roundTrip("payload: */ drop table users; /*", "*/ drop table users; /*"));
        cases.add(roundTrip("payload: text that looks like parameters :id :v", ":id :v ::text"));
        cases.add(roundTrip("payload: double quote and backtick", "\"`; drop table users; -- `\""));
        cases.add(roundTrip("payload: question marks ? ?? ?| ?&", "? ?? ?| ?& $1 %s {0}"));
        cases.add(roundTrip("payload: unicode, emoji, bidi override, BOM, line separator",
                "Ünïcødé ✓ 😀 𝄞 \u202Eevil\u202C \uFEFF \u2028 ' \" `"));
        cases.add(roundTrip("payload: a 1 MB string of quotes, comments and parameters",
                "';--/*:v*/$$\\\"`?".repeat(65_536)));
        cases.add(both("payload: null binds SQL NULL",
                env -> env.session().one("select :v as v", params("v", null)),
                returns(null)));
        cases.add(both("payload: ' or '1'='1 in a where clause matches nothing",
                env -> env.session().one("select count(*) as v from users where name = :p or email = :p",
                        params("p", TAUTOLOGY)),
                returns(0L)));
        cases.add(both("payload: collection elements are bound one by one",
                env -> env.session().one("select count(*) as v from users where name in (:names)",
                        params("names", List.of(TAUTOLOGY, SQL_INJECTION, "Ann"))),
                returns(1L)));
        cases.add(both("payload: typed jOOQ query with an injection string",
                env -> env.session().one(DSL.select(DSL.count().as("v")).from(USERS)
                        .where(USERS.NAME.eq(TAUTOLOGY).or(USERS.EMAIL.in(SQL_INJECTION, "x' or 1=1 #")))),
                returns(0)));
        cases.add(onlyPostgres("payload: Java array bound as one SQL array",
                env -> env.session().one("select (:vs)[2] as v", params("vs", new String[] {"a", SQL_INJECTION})),
                returns(SQL_INJECTION)));

        // ---- parameter-like text the lexer must leave alone ----------------------------------------------------
        cases.add(both("lexer: ':v' inside a string literal",
                env -> env.session().one("select ':v' as v", Map.of()), returns(":v")));
        cases.add(perBackend("lexer: \":v\" in double quotes",
                env -> env.session().one(env.sql("select \":v\".x as v from (select 'ok' as x) as \":v\"",
                        "select \":v\" as v"), Map.of()),
                returns("ok"), returns(":v")));
        cases.add(both("lexer: -- :v line comment",
                env -> env.session().one("select 'ok' as v -- :v\n", Map.of()), returns("ok")));
        cases.add(both("lexer: /* :v */ block comment",
                env -> env.session().one("select /* :v */ 'ok' as v", Map.of()), returns("ok")));
        cases.add(perBackend("lexer: $$:v$$ dollar quote (PostgreSQL) / # :v comment (MariaDB)",
                env -> env.session().one(env.sql("select $$:v$$ || $t$ :w $t$ as v", "select 'ok' as v # :v\n"),
                        Map.of()),
                returns(":v :w "), returns("ok")));
        cases.add(perBackend("lexer: nested /* /* :v */ :w */ (PostgreSQL) / `:v` backticks (MariaDB)",
                env -> env.session().one(env.sql("select /* a /* :v */ :w */ 'ok' as v",
                        "select `:v`.x as v from (select 'ok' as x) as `:v`"), Map.of()),
                returns("ok"), returns("ok")));
        cases.add(perBackend("lexer: backslash-escaped quote before :v",
                env -> env.session().one(env.sql("select E'it\\'s :v' as v", "select 'it\\'s :v' as v"), Map.of()),
                returns("it's :v"), returns("it's :v")));
        cases.add(perBackend("lexer: :v::text cast (PostgreSQL) / \"\\\":v\\\"\" string (MariaDB)",
                env -> env.session().one(env.sql("select :v::text as v", "select \"say \\\":v\\\"\" as v"),
                        env.postgres() ? params("v", "x") : Map.of()),
                returns("x"), returns("say \":v\"")));
        cases.add(both("lexer: :v inside a string is not a parameter, so a value for it is refused",
                env -> env.session().one("select ':v' as v", params("v", 1)),
                misuse(IllegalArgumentException.class, "parameter :v is not used in the SQL (it has no parameters)")));
        cases.add(both("lexer: :v inside a comment is not a parameter, so a value for it is refused",
                env -> env.session().one("select 1 as v /* :v */ -- :v\n", params("v", 1)),
                misuse(IllegalArgumentException.class, "parameter :v is not used in the SQL (it has no parameters)")));

        // ---- unterminated quotes and comments: refused with the offset --------------------------------------
        cases.add(both("unterminated: string literal in a delete",
                env -> env.session().execute("delete from users where name = 'x :v", params("v", 1)),
                misuse(IllegalArgumentException.class, "unterminated string literal starting at offset 31")));
        cases.add(both("unterminated: block comment",
                env -> env.session().all("select /* :v", params("v", 1)),
                misuse(IllegalArgumentException.class, "unterminated block comment starting at offset 7")));
        cases.add(perBackend("unterminated: $$ dollar quote (PostgreSQL) / `backtick (MariaDB)",
                env -> env.session().all(env.sql("select $$ :v", "select `:v"), params("v", 1)),
                misuse(IllegalArgumentException.class, "unterminated dollar-quoted string $$ starting at offset 7"),
                misuse(IllegalArgumentException.class, "unterminated quoted identifier starting at offset 7")));
        cases.add(perBackend("unterminated: double quote",
                env -> env.session().all("select \"abc :v", params("v", 1)),
                misuse(IllegalArgumentException.class, "unterminated quoted identifier starting at offset 7"),
                misuse(IllegalArgumentException.class, "unterminated string literal starting at offset 7")));
        cases.add(perBackend("unterminated: a backslash-escaped quote does not close the string",
                env -> env.session().all(env.sql("select E'it\\'s :v", "select 'it\\'s :v"), params("v", 1)),
                misuse(IllegalArgumentException.class, "unterminated escape string literal starting at offset 7"),
                misuse(IllegalArgumentException.class, "unterminated string literal starting at offset 7")));
        cases.add(onlyPostgres("unterminated: nested block comment closed only once",
                env -> env.session().all("select /* a /* b */ :v", params("v", 1)),
                misuse(IllegalArgumentException.class, "unterminated block comment starting at offset 7")));
        cases.add(onlyPostgres("unterminated: $tag$ closed by a different tag",
                env -> env.session().all("select $body$ :v $bod$", params("v", 1)),
                misuse(IllegalArgumentException.class, "unterminated dollar-quoted string $body$ starting at offset 7")));

        // ---- parameter misuse: thrown on the calling thread, before any SQL ----------------------------------
        cases.add(both("params: a missing value",
                env -> env.session().one("select :a as v, :b as w", params("a", 1)),
                misuse(IllegalArgumentException.class, "missing value for SQL parameter :b")));
        cases.add(both("params: an unknown (unused) key",
                env -> env.session().one("select :a as v", params("a", 1, "typo", 2)),
                misuse(IllegalArgumentException.class, "parameter :typo is not used in the SQL (its parameters are :a)")));
        cases.add(both("params: a missing value and an unknown key at once",
                env -> env.session().execute("delete from users where id = :id and name = :name", params("id", 1, "nmae", "x")),
                misuse(IllegalArgumentException.class, "missing value for SQL parameter :name", "parameter :nmae is not used")));
        cases.add(both("params: names are case-sensitive",
                env -> env.session().one("select :Name as v", params("name", "x")),
                misuse(IllegalArgumentException.class, "missing value for SQL parameter :Name", "parameter :name is not used")));
        cases.add(both("params: an empty collection",
                env -> env.session().execute("delete from users where id in (:ids)", params("ids", List.of())),
                misuse(IllegalArgumentException.class, "parameter :ids is an empty collection")));
        cases.add(both("params: a name given with its ':'",
                env -> env.session().execute("delete from users where id = :id", params(":id", 1)),
                misuse(IllegalArgumentException.class, "use \"id\", not \":id\"")));
        cases.add(both("params: a null name",
                env -> env.session().one("select :v as v", params("v", 1, null, 2)),
                misuse(IllegalArgumentException.class, "null parameter name")));
        cases.add(both("params: a null map",
                env -> env.session().execute("delete from users", (Map<String, ?>) null),
                misuse(NullPointerException.class, "params == null")));
        cases.add(both("params: null SQL",
                env -> env.session().execute((String) null, Map.of()),
                misuse(NullPointerException.class, "sql == null")));
        cases.add(both("params: a missing value on the blocking session",
                env -> env.blocking().execute("delete from users where id = :id", Map.of()),
                misuse(IllegalArgumentException.class, "missing value for SQL parameter :id")));
        cases.add(both("params: a bad parameter inside a transaction rolls back what the work wrote",
                env -> env.session().transaction(tx -> {
                    tx.execute("delete from post_tags");
                    tx.execute("update users set name = :n", params("n", "HACKED"));
                    return tx.execute("delete from posts where id = :id", params("idd", 1));
                }),
                fails(IllegalArgumentException.class, null, "missing value for SQL parameter :id",
                        "parameter :idd is not used")));

        // ---- records saveAll refuses before any SQL ---------------------------------------------------------
        cases.add(saveAllCase("saveAll: a null element names its index",
                () -> Arrays.asList(user(1001, "a"), user(1002, "b"), null, user(1003, "c")),
                misuse(NullPointerException.class, "records[2] == null")));
        cases.add(saveAllCase("saveAll: the same record twice",
                () -> {
                    UsersRecord twice = user(1001, "twice");
                    return List.of(twice, user(1002, "b"), twice);
                },
                misuse(IllegalArgumentException.class, "records[0] and records[2] are the same instance")));
        cases.add(saveAllCase("saveAll: two records with the same primary key",
                () -> List.of(user(1001, "a"), user(1, "Ann again"), user(1002, "b"), user(1, "Ann twice")),
                misuse(IllegalArgumentException.class, "records[1] and records[3] have the same primary key users(id)=(1)")));
        cases.add(saveAllCase("saveAll: two tags with the same composite key",
                () -> List.of(tag(1, "a"), tag(1, "z"), tag(1, "a")),
                misuse(IllegalArgumentException.class,
                        "records[0] and records[2] have the same primary key post_tags(post_id, tag)=(1, a)")));
        cases.add(saveAllCase("saveAll: a partly set composite key",
                () -> {
                    PostTagsRecord tagOnly = new PostTagsRecord();
                    tagOnly.setTag("orphan");
                    return List.of(tag(1, "ok"), tagOnly);
                },
                misuse(IllegalArgumentException.class,
                        "records[1] sets only part of the primary key post_tags(post_id, tag)=(null, orphan)")));
        cases.add(saveAllCase("saveAll: a record of a table without a primary key",
                () -> {
                    NoKeyRecord noKey = new NoKeyRecord();
                    noKey.set(NoKeyTable.NO_KEY.A, 1);
                    return List.of(user(1001, "a"), noKey);
                },
                misuse(IllegalArgumentException.class, "records[1] is a record of table hostile_no_key",
                        "has no primary key")));
        cases.add(both("saveAll: a null collection",
                env -> env.session().saveAll((Collection<UsersRecord>) null),
                misuse(NullPointerException.class, "records == null")));
        cases.add(both("save: a null record",
                env -> env.session().save((UsersRecord) null),
                misuse(NullPointerException.class, "record == null")));

        // ---- rows the database rejects in the middle of a large saveAll: nothing written, records restored ---
        cases.add(saveAllCase("saveAll: NOT NULL violation at row 5,000 of 10,000",
                () -> {
                    List<UpdatableRecord<?>> records = new ArrayList<>(10_000);
                    records.add(user(2, "HACKED"));
                    for (long id = 1001; records.size() < 10_000; id++) {
                        UsersRecord u = user(id, "user " + id);
                        u.setEmail("u" + id + "@example.com");
                        records.add(u);
                    }
                    ((UsersRecord) records.get(4_999)).setName(null);
                    return records;
                },
                dbError("23502", "column \"name\"", "not-null constraint"),
                dbError("23000", "Column 'name' cannot be null")));
        cases.add(saveAllCase("saveAll: FK violation at the last of 10,000 posts",
                () -> {
                    List<UpdatableRecord<?>> records = new ArrayList<>(10_001);
                    PostsRecord retitled = new PostsRecord();
                    retitled.setId(1L);
                    retitled.setTitle("HACKED");
                    records.add(retitled);
                    for (long id = 1001; id <= 11_000; id++) {
                        records.add(post(id, id == 11_000 ? 999_999 : 1 + id % 3, "post " + id));
                    }
                    return records;
                },
                dbError("23503", "posts_user_id_fkey"),
                dbError("23000", "posts_user_id_fkey", "foreign key constraint fails")));
        cases.add(saveAllCase("saveAll: CHECK violation (tag = '') in the middle of 101 tags",
                () -> {
                    List<UpdatableRecord<?>> records = new ArrayList<>();
                    for (int i = 0; i <= 100; i++) {
                        records.add(tag(1 + i % 3, i == 50 ? "" : "tag-" + i));
                    }
                    return records;
                },
                dbError("23514", "post_tags_tag_check"),
                dbError("23000", "post_tags_tag_check")));
        cases.add(saveAllCase("saveAll: unique violation on email in the middle of 1,000 users",
                () -> {
                    List<UpdatableRecord<?>> records = new ArrayList<>();
                    for (long id = 2001; id <= 3000; id++) {
                        UsersRecord u = user(id, "user " + id);
                        u.setEmail(id == 2500 ? "bob@example.com" : "u" + id + "@example.com");
                        records.add(u);
                    }
                    Collections.shuffle(records, new Random(42));
                    return records;
                },
                dbError("23505", "users_email_key"),
                dbError("23000", "users", "unique key")));
        cases.add(saveAllCase("saveAll: an email differing only in case from another row's",
                () -> {
                    UsersRecord shouting = user(1001, "Shouting Ann");
                    shouting.setEmail("ANN@EXAMPLE.COM");
                    return List.of(user(1000, "fine"), shouting);
                },
                dbError("23505", "users_lower_email_idx"),
                dbError("23000", "users", "unique key")));
        cases.add(saveAllCase("saveAll: two new users with the same email",
                () -> {
                    UsersRecord a = user(1001, "a");
                    a.setEmail("same@example.com");
                    UsersRecord b = user(1002, "b");
                    b.setEmail("same@example.com");
                    return List.of(a, user(1, "Ann renamed"), b);
                },
                dbError("23505", "users_email_key"),
                dbError("23000", "users", "unique key")));
        cases.add(saveAllCase("saveAll: malformed JSON in the middle",
                () -> {
                    PostsRecord bad = post(1002, 1, "bad json");
                    bad.setMetadata(JSONB.valueOf("{\"a\": "));
                    PostsRecord good = post(1003, 1, "good json");
                    good.setMetadata(JSONB.valueOf("{\"a\": 1}"));
                    PostsRecord alsoGood = post(1001, 1, "good json");
                    alsoGood.setMetadata(JSONB.valueOf("[]"));
                    return List.of(alsoGood, bad, good);
                },
                dbError("22P02", "invalid input syntax for type json"),
                // MariaDB parses the JSON bind with json_extract(?, '$'): error 4037, SQLState HY000.
                dbError("HY000", "Unexpected end of JSON text")));
        cases.add(onlyMariaDb("saveAll: a string longer than its varchar(255) column",
                env -> {
                    UsersRecord longEmail = user(1002, "long");
                    longEmail.setEmail("x".repeat(250) + "@example.com");
                    return env.session().saveAll(List.of(user(1001, "ok"), longEmail, user(1003, "ok")));
                },
                dbError("22001", "Data too long for column 'email'")));
        cases.add(saveAllCase("saveAll: 20,000 users × 4 columns (over 65,535 binds) with a bad row at the very end",
                () -> {
                    List<UpdatableRecord<?>> records = new ArrayList<>(20_000);
                    for (long id = 1001; id <= 21_000; id++) {
                        UsersRecord u = user(id, "user " + id);
                        u.setEmail("u" + id + "@example.com");
                        u.setCreatedAt(SEEDED.plusSeconds(id));
                        records.add(u);
                    }
                    ((UsersRecord) records.getLast()).setName(null);
                    return records;
                },
                dbError("23502", "column \"name\"", "not-null constraint"),
                dbError("23000", "Column 'name' cannot be null"),
                (records, env) -> {
                    assertThat(records).hasSize(20_000);
                    UsersRecord first = (UsersRecord) records.getFirst();
                    UsersRecord middle = (UsersRecord) records.get(10_000);
                    UsersRecord last = (UsersRecord) records.getLast();
                    for (UsersRecord u : List.of(first, middle, last)) {
                        assertThat(u.touched()).as("changed() of user %d", u.getId()).isTrue();
                        assertThat(u.touched(USERS.ID)).as("changed(id) of user %d", u.getId()).isTrue();
                        assertThat(u.touched(USERS.EMAIL)).as("changed(email) of user %d", u.getId()).isTrue();
                        assertThat(u.touched(USERS.CREATED_AT)).as("changed(created_at) of user %d", u.getId()).isTrue();
                        assertThat(u.original(USERS.NAME)).as("original name of user %d", u.getId()).isNull();
                    }
                    assertThat(first.getName()).isEqualTo("user 1001");
                    assertThat(first.getCreatedAt()).isEqualTo(SEEDED.plusSeconds(1001));
                    assertThat(last.getName()).isNull();
                    assertThat(last.touched(USERS.NAME)).isTrue();
                    assertThat(env.dsl().fetchCount(USERS, USERS.ID.gt(1000L))).isZero();
                }));

        // ---- plain SQL the database rejects ---------------------------------------------------------------------
        cases.add(both("wrong type: plain SQL insert with id = 'not-a-number'",
                env -> env.session().execute("insert into users (id, name) values (:id, :name)",
                        params("id", "not-a-number", "name", SQL_INJECTION)),
                perBackendExpect(dbError("42804", "column \"id\" is of type bigint"),
                        dbError("22007", "Incorrect integer value: 'not-a-number'", "`id`"))));
        cases.add(perBackend("wrong type: jOOQ query comparing a bigint column to a string",
                env -> env.session().one(DSL.select(DSL.count().as("v")).from(USERS)
                        .where(DSL.field(DSL.name("id"), String.class).eq("not-a-number"))),
                dbError("42883", "operator does not exist: bigint = character varying"),
                // MariaDB compares the string as the number 0: no user has id 0.
                returns(0)));
        cases.add(both("wrong type: an enum value that does not exist",
                env -> env.session().execute(env.sql("update posts set status = cast(:s as post_status) where id = 1",
                        "update posts set status = :s where id = 1"), params("s", "deleted'; drop table posts; --")),
                perBackendExpect(dbError("22P02", "invalid input value for enum post_status"),
                        dbError("01000", "Data truncated for column 'status'"))));
        cases.add(perBackend("too long: a 6-character string into varchar(5), in a transaction after an update",
                env -> env.session().transaction(tx -> {
                    tx.execute("update users set name = :n", params("n", "HACKED"));
                    if (env.postgres()) {
                        tx.execute("create temporary table hostile_short (v varchar(5)) on commit drop");
                        return tx.execute("insert into hostile_short (v) values (:v)", params("v", "sixsix"));
                    }
                    tx.execute("create temporary table hostile_short (v varchar(5))");
                    try {
                        return tx.execute("insert into hostile_short (v) values (:v)", params("v", "sixsix"));
                    } finally {
                        tx.execute("drop temporary table hostile_short");
                    }
                }),
                dbError("22001", "value too long for type character varying(5)"),
                dbError("22001", "Data too long for column 'v'")));
        cases.add(both("duplicate key: plain SQL insert of an existing id, after an update in the same transaction",
                env -> env.session().transaction(tx -> {
                    tx.execute("update users set name = :n, email = null", params("n", "HACKED"));
                    return tx.execute("insert into users (id, name) values (:id, :name)", params("id", 1L, "name", "dup"));
                }),
                perBackendExpect(dbError("23505", "users_pkey"), dbError("23000", "Duplicate entry '1' for key 'PRIMARY'"))));
        cases.add(both("syntax error: a misspelt keyword with a payload value",
                env -> env.session().all("selec :v as v", params("v", SQL_INJECTION)),
                perBackendExpect(dbError("42601", "syntax error at or near \"selec\""),
                        dbError("42000", "You have an error in your SQL syntax"))));

        return cases.stream();
    }

    // =========================================================================================================
    // Secrets
    // =========================================================================================================

    @Test
    void a_wrong_password_on_mariadb_fails_at_build_naming_host_and_database_but_never_the_password() {
        assumeTrue(!postgres, "MariaDB: connects as root with a wrong password");
        String secret = "wrong-S3cret!";

        Captured captured = capture(() -> Database.builder().url(test.url()).username("root").password(secret)
                .acquisitionTimeout(Duration.ofSeconds(5)).build());

        assertThat(captured.thrown()).isInstanceOf(DataAccessException.class)
                .hasMessageContaining(hostPortAndDatabase(test.url()))
                .hasMessageContaining("Access denied");
        assertThat(hostPortAndDatabase(test.url())).matches("[^:/]+:\\d+/sqlservice_test_\\w+");
        assertNeverShown(captured, secret);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "jdbc:postgresql://127.0.0.1:1/inventory?user=app&password=" + URL_SECRET + "&connectTimeout=5",
        "jdbc:postgresql://127.0.0.1:1/inventory?password=" + URL_SECRET,
        "jdbc:postgresql://127.0.0.1:1/inventory?password=Url%2DS3cret%2D7f3a",
        "jdbc:postgresql://127.0.0.1:1/inventory?sslmode=disable&pwd=" + URL_SECRET + "&passwd=" + URL_SECRET,
        "jdbc:postgresql://127.0.0.1:1/inventory?sslpassword=" + URL_SECRET + "&sslkey=/keys/" + URL_SECRET + ".pk8",
        "jdbc:postgresql://127.0.0.1:1/inventory?trustStorePassword=" + URL_SECRET + "&connectTimeout=5",
        "jdbc:mariadb://127.0.0.1:1/inventory?user=app&password=" + URL_SECRET + "&connectTimeout=5000",
        "jdbc:mariadb://127.0.0.1:1/inventory?keyStorePassword=" + URL_SECRET + "&trustStorePassword=" + URL_SECRET
                + "&keyPassword=" + URL_SECRET,
        "jdbc:mariadb://127.0.0.1:1/inventory?clientSecret=" + URL_SECRET + "&apiToken=" + URL_SECRET,
    })
    void an_unreachable_server_fails_at_build_naming_host_and_database_but_never_a_password(String url) {
        Captured captured = capture(() -> Database.builder().url(url).username("app").password(BUILDER_SECRET)
                .acquisitionTimeout(Duration.ofSeconds(5)).build());

        assertThat(captured.thrown()).isInstanceOf(DataAccessException.class)
                .hasMessageContaining("127.0.0.1:1/inventory");
        assertNeverShown(captured, URL_SECRET, BUILDER_SECRET);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "jdbc:postgresql://127.0.0.1:port/inventory?trustStorePassword=" + URL_SECRET,
        "jdbc:postgresql://127.0.0.1:1:2/inventory?keyStorePassword=" + URL_SECRET,
        "jdbc:mariadb://127.0.0.1:port/inventory?keyStorePassword=" + URL_SECRET,
    })
    void a_url_the_driver_cannot_parse_fails_at_build_without_quoting_its_secrets(String url) {
        // Drivers and the pool quote a URL they reject, whole, in their exceptions and logs.
        Captured captured = capture(() -> Database.builder().url(url).username("app").password(BUILDER_SECRET)
                .acquisitionTimeout(Duration.ofSeconds(5)).build());

        assertThat(captured.thrown()).isInstanceOf(DataAccessException.class).hasMessageContaining("/inventory");
        assertNeverShown(captured, URL_SECRET, BUILDER_SECRET);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "jdbc:postgresql://app:" + URL_SECRET + "@127.0.0.1:1/inventory",
        "jdbc:mariadb://app:" + URL_SECRET + "@127.0.0.1:1/inventory",
        "jdbc:postgresql://app:p@ss/" + URL_SECRET + "@127.0.0.1:1/inventory",
        "jdbc:postgresql://127.0.0.1:1/inventory;password=" + URL_SECRET,
        "jdbc:mariadb://127.0.0.1:1/inventory;trustStorePassword=" + URL_SECRET,
        "jdbc:postgresql://127.0.0.1:1/inventory?user=app;password=" + URL_SECRET,
    })
    void a_secret_where_the_driver_reads_no_parameter_is_refused_at_build_without_showing_it(String url) {
        // Neither driver reads "//user:password@" nor ";name=value": they would take the secret for part of the
        // host, the database name or another value, quote it in their errors and log it. build() refuses the URL.
        Captured captured = capture(() -> Database.builder().url(url).password(BUILDER_SECRET)
                .acquisitionTimeout(Duration.ofSeconds(5)).build());

        assertThat(captured.thrown()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("url")
                .hasMessageContaining("127.0.0.1:1/inventory");
        assertNeverShown(captured, URL_SECRET, BUILDER_SECRET);
    }

    @Test
    void a_password_in_the_url_still_reaches_the_driver() {
        assumeTrue(!postgres, "MariaDB: root has no password, so a wrong one is refused; PostgreSQL trusts local users");
        String secret = "wrong-S3cret!";

        Captured captured = capture(() -> Database.builder().url(test.url() + "?user=root&password=" + secret)
                .acquisitionTimeout(Duration.ofSeconds(5)).build());

        assertThat(captured.thrown()).isInstanceOf(DataAccessException.class)
                .hasMessageContaining("Access denied")
                .hasMessageContaining("using password: YES");
        assertNeverShown(captured, secret);
    }

    @Test
    void secret_parameters_travel_as_driver_properties_decoded_as_the_driver_decodes_them() {
        JdbcUrls.Split pg = JdbcUrls.split("jdbc:postgresql://h:5432/db?user=a&password=p%26q%2B&ssl=true&sslkey=/k.pk8");
        JdbcUrls.Split maria = JdbcUrls.split("jdbc:mariadb://h:3306/db?user=a&password=p%26q&keyStorePassword=k");

        assertThat(pg.url()).isEqualTo("jdbc:postgresql://h:5432/db?user=a&ssl=true");
        assertThat(pg.secrets()).containsExactlyInAnyOrderEntriesOf(Map.of("password", "p&q+", "sslkey", "/k.pk8"));
        assertThat(maria.url()).isEqualTo("jdbc:mariadb://h:3306/db?user=a");
        assertThat(maria.secrets()).containsExactlyInAnyOrderEntriesOf(Map.of("password", "p%26q", "keyStorePassword", "k"));
    }

    // =========================================================================================================
    // The machinery of the catalogue
    // =========================================================================================================

    /** What a case runs against: this test's own counting database, and the shared DSL to look at rows. */
    record Env(AsyncSession session, Session blocking, DSLContext dsl, boolean postgres) {
        String sql(String postgresSql, String mariaDbSql) {
            return postgres ? postgresSql : mariaDbSql;
        }
    }

    @FunctionalInterface
    interface Action {
        /** Returns a {@link CompletionStage} (awaited) or a plain value; throws for synchronous failures. */
        Object run(Env env) throws Exception;
    }

    sealed interface Expect permits Returns, Misuse, Fails {}

    /** Completes normally; the value of column {@code v} of the one row equals {@code value}. */
    record Returns(Object value) implements Expect {}

    /** Thrown on the calling thread, before a connection is borrowed or a task submitted. */
    record Misuse(Class<? extends Throwable> type, List<String> fragments) implements Expect {}

    /** The stage fails with {@code type} (SQLState {@code sqlState} unless null), message naming the problem. */
    record Fails(Class<? extends Throwable> type, String sqlState, List<String> fragments) implements Expect {}

    /** A named case; a null expectation means "does not apply to that backend". */
    record Case(String name, Action action, Expect postgres, Expect mariadb, Consumer<Env> after) {
        @Override
        public String toString() {
            return name;
        }
    }

    private record PerBackend(Expect postgres, Expect mariadb) {}

    private record Outcome(Object value, Throwable failure, boolean synchronous) {}

    private static Case both(String name, Action action, Expect expect) {
        return new Case(name, action, expect, expect, null);
    }

    private static Case both(String name, Action action, PerBackend expect) {
        return new Case(name, action, expect.postgres(), expect.mariadb(), null);
    }

    private static Case perBackend(String name, Action action, Expect postgres, Expect mariadb) {
        return new Case(name, action, postgres, mariadb, null);
    }

    private static Case onlyPostgres(String name, Action action, Expect expect) {
        return new Case(name, action, expect, null, null);
    }

    private static Case onlyMariaDb(String name, Action action, Expect expect) {
        return new Case(name, action, null, expect, null);
    }

    private static PerBackend perBackendExpect(Expect postgres, Expect mariadb) {
        return new PerBackend(postgres, mariadb);
    }

    private static Case roundTrip(String name, String payload) {
        return both(name, env -> env.session().one("select :v as v", params("v", payload)), returns(payload));
    }

    private static Case saveAllCase(String name, Supplier<List<? extends UpdatableRecord<?>>> input, Expect expect) {
        return saveAllCase(name, input, expect, expect, (records, env) -> {});
    }

    private static Case saveAllCase(String name, Supplier<List<? extends UpdatableRecord<?>>> input, Expect postgres,
            Expect mariadb) {
        return saveAllCase(name, input, postgres, mariadb, (records, env) -> {});
    }

    /** A saveAll of fresh records; afterwards every record must be exactly as it was before the call. */
    private static Case saveAllCase(String name, Supplier<List<? extends UpdatableRecord<?>>> input, Expect postgres,
            Expect mariadb, BiConsumer<List<? extends UpdatableRecord<?>>, Env> more) {
        var state = new Object() {
            List<? extends UpdatableRecord<?>> records;
            List<List<Object>> before;
        };
        Action action = env -> {
            state.records = input.get();
            state.before = state.records.stream().map(r -> r == null ? null : stateOf(r)).toList();
            return env.session().saveAll(state.records);
        };
        Consumer<Env> after = env -> {
            assertRestored(state.records, state.before);
            more.accept(state.records, env);
        };
        return new Case(name, action, postgres, mariadb, after);
    }

    private static Returns returns(Object value) {
        return new Returns(value);
    }

    private static Misuse misuse(Class<? extends Throwable> type, String... fragments) {
        return new Misuse(type, List.of(fragments));
    }

    private static Fails fails(Class<? extends Throwable> type, String sqlState, String... fragments) {
        return new Fails(type, sqlState, List.of(fragments));
    }

    private static Fails dbError(String sqlState, String... fragments) {
        return new Fails(DataAccessException.class, sqlState, List.of(fragments));
    }

    private static Outcome run(Action action, Env env) {
        Object result;
        try {
            result = action.run(env);
        } catch (Throwable t) {
            return new Outcome(null, t, true);
        }
        if (!(result instanceof CompletionStage<?> stage)) {
            return new Outcome(result, null, true);
        }
        try {
            return new Outcome(stage.toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS), null, false);
        } catch (ExecutionException | CompletionException e) {
            return new Outcome(null, unwrap(e), false);
        } catch (TimeoutException e) {
            throw new AssertionError("the stage did not complete within " + WAIT_SECONDS + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static Throwable unwrap(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof ExecutionException || cause instanceof CompletionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    private static void checkReturns(Outcome outcome, Returns expected) {
        if (outcome.failure() != null) {
            throw new AssertionError("expected a round trip, but it failed with " + outcome.failure(), outcome.failure());
        }
        assertThat(outcome.value()).as("the row").isInstanceOf(Record.class);
        Record row = (Record) outcome.value();
        assertThat(row.size()).as("columns of %s", row.fieldsRow()).isEqualTo(1);
        Object actual = expected.value() == null ? row.get("v") : row.get("v", expected.value().getClass());
        if (expected.value() instanceof String s && s.length() > 1_000) {
            assertThat(actual).isInstanceOf(String.class);
            assertThat(((String) actual).length()).as("length of the value read back").isEqualTo(s.length());
            assertThat(actual.equals(s)).as("the %d-character value read back equals the one bound", s.length()).isTrue();
        } else {
            assertThat(actual).as("the value read back").isEqualTo(expected.value());
        }
    }

    private void checkMisuse(Outcome outcome, Misuse expected) {
        assertThat(outcome.failure())
                .as("expected %s thrown on the calling thread, but the call %s", expected.type().getSimpleName(),
                        outcome.failure() == null ? "succeeded with " + outcome.value() : "failed in its stage")
                .isNotNull();
        assertThat(outcome.synchronous()).as("thrown on the calling thread, not through the stage: %s", outcome.failure())
                .isTrue();
        assertThat(outcome.failure()).isInstanceOf(expected.type());
        for (String fragment : expected.fragments()) {
            assertThat(outcome.failure()).hasMessageContaining(fragment);
        }
        assertThat(borrowed.get()).as("connections borrowed before the misuse was reported").isZero();
        assertThat(submitted.get()).as("tasks submitted before the misuse was reported").isZero();
    }

    private static void checkFails(Outcome outcome, Fails expected) {
        assertThat(outcome.failure())
                .as("expected a failed stage, but the call succeeded with %s", outcome.value())
                .isNotNull();
        assertThat(outcome.synchronous())
                .as("a database error completes the stage; it is not thrown on the calling thread: %s", outcome.failure())
                .isFalse();
        assertThat(outcome.failure()).isInstanceOf(expected.type());
        if (expected.sqlState() != null) {
            DataAccessException e = (DataAccessException) outcome.failure();
            assertThat(e.sqlState()).as("SQLState of %s", e.getMessage()).isEqualTo(expected.sqlState());
        }
        for (String fragment : expected.fragments()) {
            assertThat(outcome.failure()).hasMessageContaining(fragment);
        }
    }

    // =========================================================================================================
    // Rows, records, helpers
    // =========================================================================================================

    /** Three users, three posts, three tags: what every case must leave exactly as it found. */
    private static void seed(DSLContext dsl) {
        dsl.insertInto(USERS, USERS.ID, USERS.NAME, USERS.EMAIL, USERS.CREATED_AT)
                .values(1L, "Ann", "ann@example.com", SEEDED)
                .values(2L, "Bob", "bob@example.com", SEEDED)
                .values(3L, "Cid", null, SEEDED)
                .execute();
        dsl.insertInto(POSTS, POSTS.ID, POSTS.USER_ID, POSTS.TITLE, POSTS.BODY, POSTS.METADATA, POSTS.STATUS,
                        POSTS.UPDATED_AT)
                .values(1L, 1L, "Hello", "first", JSONB.valueOf("{\"k\": 1}"), PostStatus.published, SEEDED)
                .values(2L, 1L, "Draft", null, null, PostStatus.draft, SEEDED)
                .values(3L, 2L, "Bob's", "it's ' -- /* :x */", JSONB.valueOf("[1, 2]"), PostStatus.archived, SEEDED)
                .execute();
        dsl.insertInto(POST_TAGS, POST_TAGS.POST_ID, POST_TAGS.TAG)
                .values(1L, "a")
                .values(1L, "b")
                .values(3L, "x")
                .execute();
    }

    /** Every row of the three tables, in key order, timestamps as instants and JSON without whitespace. */
    private static List<List<Object>> snapshot(DSLContext dsl) {
        List<List<Object>> rows = new ArrayList<>();
        dsl.selectFrom(USERS).orderBy(USERS.ID).fetch().forEach(r -> rows.add(normalized("users", r)));
        dsl.selectFrom(POSTS).orderBy(POSTS.ID).fetch().forEach(r -> rows.add(normalized("posts", r)));
        dsl.selectFrom(POST_TAGS).orderBy(POST_TAGS.POST_ID, POST_TAGS.TAG).fetch()
                .forEach(r -> rows.add(normalized("post_tags", r)));
        return rows;
    }

    private static List<Object> normalized(String table, Record r) {
        List<Object> values = new ArrayList<>();
        values.add(table);
        for (int i = 0; i < r.size(); i++) {
            Object v = r.get(i);
            if (v instanceof OffsetDateTime t) {
                v = t.toInstant();
            } else if (v instanceof JSONB j) {
                v = "json:" + j.data().replaceAll("\\s", "");
            }
            values.add(v);
        }
        return values;
    }

    /** Every value, original value and changed flag of a record. */
    private static List<Object> stateOf(Record r) {
        List<Object> state = new ArrayList<>();
        for (int i = 0; i < r.size(); i++) {
            state.add(Arrays.asList(r.field(i).getName(), r.get(i), r.original(i), r.touched(i)));
        }
        state.add(r.touched());
        return state;
    }

    private static void assertRestored(List<? extends Record> records, List<List<Object>> before) {
        if (records == null) {
            return;
        }
        assertThat(records).as("records").hasSameSizeAs(before);
        List<String> mismatches = new ArrayList<>();
        int count = 0;
        for (int i = 0; i < records.size(); i++) {
            Record r = records.get(i);
            List<Object> now = r == null ? null : stateOf(r);
            if (!java.util.Objects.equals(now, before.get(i))) {
                count++;
                if (mismatches.size() < 3) {
                    mismatches.add("records[" + i + "]: before " + before.get(i) + ", after " + now);
                }
            }
        }
        assertThat(mismatches).as("%d of %d records not as they were before the call", count, records.size()).isEmpty();
    }

    private static UsersRecord user(long id, String name) {
        UsersRecord u = new UsersRecord();
        u.setId(id);
        u.setName(name);
        return u;
    }

    private static PostsRecord post(long id, long userId, String title) {
        PostsRecord p = new PostsRecord();
        p.setId(id);
        p.setUserId(userId);
        p.setTitle(title);
        return p;
    }

    private static PostTagsRecord tag(long postId, String tag) {
        PostTagsRecord t = new PostTagsRecord();
        t.setPostId(postId);
        t.setTag(tag);
        return t;
    }

    /** A map that allows null keys and values, in the order given. */
    private static Map<String, Object> params(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    /** A data source over the shared pool that counts the connections it hands out. */
    private static DataSource countingDataSource(DataSource pool, AtomicInteger borrowed) {
        return (DataSource) Proxy.newProxyInstance(HostileInputTest.class.getClassLoader(),
                new Class<?>[] {DataSource.class}, (proxy, method, args) -> switch (method.getName()) {
                    case "getConnection" -> {
                        borrowed.incrementAndGet();
                        yield pool.getConnection();
                    }
                    case "toString" -> "counting data source";
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    default -> throw new UnsupportedOperationException("DataSource." + method.getName());
                });
    }

    // ---- secrets ------------------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Build {
        Database build();
    }

    /** What build() threw, and everything written to System.out, System.err and java.util.logging meanwhile. */
    private record Captured(Throwable thrown, String output) {}

    private static Captured capture(Build build) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream both = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        StringBuilder julOutput = new StringBuilder();
        SimpleFormatter formatter = new SimpleFormatter();
        Handler jul = new Handler() {
            @Override
            public synchronized void publish(LogRecord record) {
                julOutput.append(formatter.format(record));
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        jul.setLevel(Level.ALL);
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        Throwable thrown;
        System.setOut(both);
        System.setErr(both);
        root.addHandler(jul);
        try (VerboseLogging verbose = new VerboseLogging()) {
            thrown = catchThrowable(() -> build.build().close());
        } finally {
            root.removeHandler(jul);
            System.setOut(out);
            System.setErr(err);
        }
        both.flush();
        String output = bytes.toString(StandardCharsets.UTF_8) + julOutput;
        // Let the captured text still reach the test report.
        err.print(output);
        return new Captured(thrown, output);
    }

    /**
     * The pool, the drivers, Flyway and sqlservice logging everything (SLF4J's TRACE, java.util.logging's ALL)
     * while build() runs: a user who turns their logging up must not see a secret either. slf4j-simple fixes a
     * logger's level when it creates it, so the loggers that exist already are turned up in place, and new ones
     * pick the level up from its per-logger system properties.
     */
    private static final class VerboseLogging implements AutoCloseable {
        private static final List<String> PREFIXES =
                List.of("com.zaxxer.hikari", "org.postgresql", "org.mariadb", "org.flywaydb", "org.jooq", "dev.sqlservice");
        private static final String SIMPLE_LOGGER_LEVEL = "org.slf4j.simpleLogger.log.";

        private final Map<org.slf4j.simple.SimpleLogger, Integer> slf4jLevels = new IdentityHashMap<>();
        private final Map<java.util.logging.Logger, Level> julLevels = new LinkedHashMap<>();
        private final Map<String, String> properties = new LinkedHashMap<>();
        private final java.lang.reflect.Field currentLogLevel;

        VerboseLogging() {
            try {
                currentLogLevel = org.slf4j.simple.SimpleLogger.class.getDeclaredField("currentLogLevel");
                currentLogLevel.setAccessible(true);
                org.slf4j.ILoggerFactory factory = org.slf4j.LoggerFactory.getILoggerFactory();
                assertThat(factory).as("the test classpath's SLF4J binding").isInstanceOf(org.slf4j.simple.SimpleLoggerFactory.class);
                java.lang.reflect.Field loggerMap = org.slf4j.simple.SimpleLoggerFactory.class.getDeclaredField("loggerMap");
                loggerMap.setAccessible(true);
                for (Object logger : ((Map<?, ?>) loggerMap.get(factory)).values()) {
                    if (logger instanceof org.slf4j.simple.SimpleLogger simple
                            && PREFIXES.stream().anyMatch(p -> simple.getName().startsWith(p))) {
                        slf4jLevels.put(simple, currentLogLevel.getInt(simple));
                        currentLogLevel.setInt(simple, 0);
                    }
                }
            } catch (ReflectiveOperationException e) {
                throw new AssertionError("cannot turn slf4j-simple's loggers up", e);
            }
            for (String prefix : PREFIXES) {
                properties.put(SIMPLE_LOGGER_LEVEL + prefix, System.getProperty(SIMPLE_LOGGER_LEVEL + prefix));
                System.setProperty(SIMPLE_LOGGER_LEVEL + prefix, "trace");
                java.util.logging.Logger jul = java.util.logging.Logger.getLogger(prefix);
                julLevels.put(jul, jul.getLevel());
                jul.setLevel(Level.ALL);
            }
        }

        @Override
        public void close() {
            slf4jLevels.forEach((logger, level) -> {
                try {
                    currentLogLevel.setInt(logger, level);
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            });
            julLevels.forEach(java.util.logging.Logger::setLevel);
            properties.forEach((key, value) -> {
                if (value == null) {
                    System.clearProperty(key);
                } else {
                    System.setProperty(key, value);
                }
            });
        }
    }

    /** Fails listing every place a secret shows up: a message, a stack trace, or what was printed or logged. */
    private static void assertNeverShown(Captured captured, String... secrets) {
        assertThat(captured.thrown()).as("build() must fail").isNotNull();
        StringWriter trace = new StringWriter();
        captured.thrown().printStackTrace(new PrintWriter(trace));
        Map<String, String> places = new LinkedHashMap<>();
        places.put("the message of the exception thrown by build()", captured.thrown().getMessage());
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        collect(captured.thrown(), "", places, seen);
        places.put("the printed stack trace", trace.toString());
        places.put("System.out, System.err and java.util.logging during build()", captured.output());
        List<String> leaks = new ArrayList<>();
        for (String secret : secrets) {
            places.forEach((place, text) -> {
                if (text != null && text.contains(secret)) {
                    int at = text.indexOf(secret);
                    String excerpt = text.substring(Math.max(0, at - 80), Math.min(text.length(), at + secret.length() + 20));
                    leaks.add(place + ": ..." + excerpt.replace('\n', ' ') + "...");
                }
            });
        }
        assertThat(leaks).as("places where a password shows up").isEmpty();
    }

    private static void collect(Throwable t, String path, Map<String, String> places, Set<Throwable> seen) {
        if (t == null || !seen.add(t)) {
            return;
        }
        String where = "the cause chain" + path + " (" + t.getClass().getName() + ")";
        places.put(where + " message", t.getMessage());
        places.put(where + " localized message", t.getLocalizedMessage());
        places.put(where + " toString", t.toString());
        places.put(where + " frames", Arrays.toString(t.getStackTrace()));
        collect(t.getCause(), path + ".getCause()", places, seen);
        Throwable[] suppressed = t.getSuppressed();
        for (int i = 0; i < suppressed.length; i++) {
            collect(suppressed[i], path + ".getSuppressed()[" + i + "]", places, seen);
        }
    }

    /** "host:port/database" of a JDBC URL, as the library's messages print it. */
    private static String hostPortAndDatabase(String url) {
        URI uri = URI.create(url.substring("jdbc:".length()));
        return uri.getHost() + ":" + uri.getPort() + uri.getPath();
    }

    // ---- a table without a primary key, which the example schema does not have -------------------------------

    static final class NoKeyTable extends TableImpl<NoKeyRecord> {
        static final NoKeyTable NO_KEY = new NoKeyTable();

        final TableField<NoKeyRecord, Integer> A = createField(DSL.name("a"), SQLDataType.INTEGER, this, "");

        private NoKeyTable() {
            super(DSL.name("hostile_no_key"));
        }

        @Override
        public Class<NoKeyRecord> getRecordType() {
            return NoKeyRecord.class;
        }
    }

    public static final class NoKeyRecord extends UpdatableRecordImpl<NoKeyRecord> {
        public NoKeyRecord() {
            super(NoKeyTable.NO_KEY);
        }
    }
}
