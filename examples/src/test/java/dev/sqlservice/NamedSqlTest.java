package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNullPointerException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sqlservice.NamedSql.Bind;
import dev.sqlservice.NamedSql.Dialect;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NamedSqlTest {

    private static final Dialect PG = Dialect.POSTGRES;
    private static final Dialect MYSQL = Dialect.MYSQL;

    // --- parameters ---

    @Test
    void parse__finds_parameters_and_splits_the_text_around_them() {
        NamedSql sql = NamedSql.parse("select * from t where id = :id and name = :name", PG);

        assertThat(sql.parameterNames()).containsExactly("id", "name");
        assertThat(sql.expand(Map.of("id", 7, "name", "Ann"))).containsExactly(
                "select * from t where id = ", new Bind("id", 7), " and name = ", new Bind("name", "Ann"));
    }

    @Test
    void parse__finds_parameters_right_after_punctuation_and_at_both_ends() {
        assertThat(pieces(":a,x=:b,(:c),:d", PG))
                .containsExactly(bind("a"), ",x=", bind("b"), ",(", bind("c"), "),", bind("d"));
    }

    @Test
    void parse__ends_a_name_at_the_first_character_that_cannot_continue_it() {
        assertThat(pieces("select :p_1x2+:Tenant_ID-:_.", MYSQL))
                .containsExactly("select ", bind("p_1x2"), "+", bind("Tenant_ID"), "-", bind("_"), ".");
    }

    @Test
    void parse__lists_parameter_names_once_in_order_of_first_appearance() {
        Set<String> names = NamedSql.parse("select :b, :a, :b, :c, :a", PG).parameterNames();

        assertThat(names).containsExactly("b", "a", "c");
        assertThatThrownBy(() -> names.add("d")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void expand__binds_every_occurrence_of_a_repeated_name() {
        NamedSql sql = NamedSql.parse("select :x, :y, :x", PG);

        assertThat(sql.expand(Map.of("x", 1, "y", 2)))
                .containsExactly("select ", new Bind("x", 1), ", ", new Bind("y", 2), ", ", new Bind("x", 1));
    }

    @Test
    void expand__emits_no_empty_text_between_adjacent_parameters() {
        assertThat(pieces(":a:b", PG)).containsExactly(bind("a"), bind("b"));
    }

    @Test
    void parse__leaves_double_colon_casts_alone() {
        String casts = ":id::bigint, 'x'::text, a::int, b :: int, c:::d";

        assertThat(pieces("select " + casts, PG))
                .containsExactly("select ", bind("id"), "::bigint, 'x'::text, a::int, b :: int, c:::d");
        assertThat(pieces("select a::int", MYSQL)).containsExactly("select a::int");
    }

    @Test
    void parse__treats_a_colon_not_followed_by_a_name_as_text() {
        String sql = "select a[1:2], x := 1, : y, :1, ':', :";

        assertThat(pieces(sql, PG)).containsExactly(sql);
    }

    @Test
    void parse__treats_a_name_right_after_the_colon_of_an_array_slice_as_a_parameter() {
        assertThat(pieces("select arr[:n], arr[2:n], arr[2: n]", PG))
                .containsExactly("select arr[", bind("n"), "], arr[2", bind("n"), "], arr[2: n]");
    }

    // --- strings and quoted identifiers ---

    @Test
    void parse__skips_parameters_inside_single_quoted_strings() {
        String sql = "select 'it''s :x', '', ''':y''' || :z";

        assertThat(pieces(sql, PG)).containsExactly("select 'it''s :x', '', ''':y''' || ", bind("z"));
        assertThat(pieces(sql, MYSQL)).containsExactly("select 'it''s :x', '', ''':y''' || ", bind("z"));
    }

    @Test
    void parse__reads_backslashes_in_plain_postgres_strings_literally() {
        assertThat(pieces("select 'C:\\' || :dir", PG)).containsExactly("select 'C:\\' || ", bind("dir"));
    }

    @Test
    void parse__skips_parameters_inside_postgres_escape_strings() {
        assertThat(pieces("select E'it\\'s :x', e'\\\\', :y", PG))
                .containsExactly("select E'it\\'s :x', e'\\\\', ", bind("y"));
    }

    @Test
    void parse__does_not_read_an_identifier_ending_in_e_as_an_escape_string_prefix() {
        assertThat(pieces("select date'\\', :d", PG)).containsExactly("select date'\\', ", bind("d"));
    }

    @Test
    void parse__skips_parameters_inside_postgres_quoted_identifiers() {
        assertThat(pieces("select \"a:x\", \"say \"\":y\"\"\" from t where c = :c", PG))
                .containsExactly("select \"a:x\", \"say \"\":y\"\"\" from t where c = ", bind("c"));
    }

    @Test
    void parse__skips_parameters_inside_mysql_backtick_identifiers() {
        assertThat(pieces("select `a:x`, `b``:y` from t where c = :c", MYSQL))
                .containsExactly("select `a:x`, `b``:y` from t where c = ", bind("c"));
    }

    @Test
    void parse__honours_backslash_and_doubled_quote_escapes_in_mysql_strings() {
        String strings = "select 'it\\'s :x', \"say \\\":y\\\"\", \"a\"\":z\", 'C:\\\\', ";

        assertThat(pieces(strings + ":v", MYSQL)).containsExactly(strings, bind("v"));
    }

    // --- dollar quotes ---

    @Test
    void parse__skips_parameters_inside_dollar_quotes() {
        String quoted = "do $$ begin perform :x; end $$; select $fn$ 'a :y $$ :z $$ $fn$, $a$b$ :w $a$ = ";

        assertThat(pieces(quoted + ":v", PG)).containsExactly(quoted, bind("v"));
    }

    @Test
    void parse__does_not_read_positional_parameters_or_identifiers_as_dollar_quotes() {
        assertThat(pieces("select $1 || foo$bar$ || :x || baz$bar$ || $2", PG))
                .containsExactly("select $1 || foo$bar$ || ", bind("x"), " || baz$bar$ || $2");
        assertThat(pieces("select $1$ :x $1$", PG)).containsExactly("select $1$ ", bind("x"), " $1$");
    }

    @Test
    void parse__has_no_dollar_quotes_on_mysql() {
        assertThat(pieces("select $a$ :x $a$", MYSQL)).containsExactly("select $a$ ", bind("x"), " $a$");
    }

    // --- comments ---

    @Test
    void parse__skips_parameters_inside_line_comments() {
        assertThat(pieces("select 1 -- :x 'unclosed\n, :y --:z\r, :w", PG))
                .containsExactly("select 1 -- :x 'unclosed\n, ", bind("y"), " --:z\r, ", bind("w"));
        assertThat(pieces("select 1 -- :x 'unclosed\n, :y", MYSQL))
                .containsExactly("select 1 -- :x 'unclosed\n, ", bind("y"));
    }

    @Test
    void parse__lets_a_line_comment_run_to_the_end_of_the_input() {
        assertThat(pieces("select :x -- :y 'unclosed", PG)).containsExactly("select ", bind("x"), " -- :y 'unclosed");
        assertThat(pieces("select :x # :y 'unclosed", MYSQL)).containsExactly("select ", bind("x"), " # :y 'unclosed");
    }

    @Test
    void parse__starts_a_mysql_double_dash_comment_only_before_whitespace_or_the_end() {
        assertThat(pieces("select 1--:x, 2 --\t:y\n, 3 --", MYSQL))
                .containsExactly("select 1--", bind("x"), ", 2 --\t:y\n, 3 --");
        assertThat(pieces("select 1--:x", PG)).containsExactly("select 1--:x");
    }

    @Test
    void parse__starts_a_hash_comment_on_mysql_only() {
        assertThat(pieces("select 1 # :x\n, :y", MYSQL)).containsExactly("select 1 # :x\n, ", bind("y"));
        assertThat(pieces("select 5 # :x", PG)).containsExactly("select 5 # ", bind("x"));
    }

    @Test
    void parse__nests_block_comments_on_postgres() {
        assertThat(pieces("select /* a /* b */ :x */ :y", PG))
                .containsExactly("select /* a /* b */ :x */ ", bind("y"));
    }

    @Test
    void parse__does_not_nest_block_comments_on_mysql() {
        assertThat(pieces("select /* a /* :x */ :y", MYSQL)).containsExactly("select /* a /* :x */ ", bind("y"));
    }

    // --- question marks ---

    @Test
    void parse__escapes_jsonb_question_mark_operators_on_postgres() {
        assertThat(pieces("select data ? 'k', data ?| array['a'], data ?& :keys", PG))
                .containsExactly("select data ?? 'k', data ??| array['a'], data ??& ", bind("keys"));
    }

    @Test
    void parse__leaves_question_marks_inside_literals_and_comments_alone_on_postgres() {
        String sql = "select '?', E'\\'?', \"?\", $$?$$, $q$?$q$ -- ?\n/* ? */";

        assertThat(pieces(sql, PG)).containsExactly(sql);
    }

    @Test
    void parse__escapes_each_question_mark_even_if_already_doubled_on_postgres() {
        // The SQL is plain PostgreSQL, never JDBC-escaped: "??" there is two question marks.
        assertThat(pieces("select a ?? b", PG)).containsExactly("select a ???? b");
    }

    @Test
    void parse__leaves_question_marks_alone_on_mysql() {
        assertThat(pieces("select ?, '?', :x ?", MYSQL)).containsExactly("select ?, '?', ", bind("x"), " ?");
    }

    // --- values ---

    @Test
    void expand__expands_a_list_into_comma_separated_binds() {
        NamedSql sql = NamedSql.parse("select * from t where id in (:ids) and k = :k", PG);

        assertThat(sql.expand(Map.of("ids", Arrays.asList(3, null, 2), "k", "v"))).containsExactly(
                "select * from t where id in (",
                new Bind("ids", 3), ", ", new Bind("ids", null), ", ", new Bind("ids", 2),
                ") and k = ", new Bind("k", "v"));
    }

    @Test
    void expand__expands_a_set_in_its_iteration_order() {
        NamedSql sql = NamedSql.parse("select * from t where name in (:names)", MYSQL);

        assertThat(sql.expand(Map.of("names", new LinkedHashSet<>(List.of("b", "a"))))).containsExactly(
                "select * from t where name in (", new Bind("names", "b"), ", ", new Bind("names", "a"), ")");
        assertThat(sql.expand(Map.of("names", Set.of("c"))))
                .containsExactly("select * from t where name in (", new Bind("names", "c"), ")");
    }

    @Test
    void expand__rejects_an_empty_collection() {
        NamedSql sql = NamedSql.parse("select * from t where id in (:ids)", PG);

        assertThatIllegalArgumentException()
                .isThrownBy(() -> sql.expand(Map.of("ids", List.of())))
                .withMessage("parameter :ids is an empty collection; SQL \"in ()\" is invalid, so handle the empty case"
                        + " before querying");
    }

    @Test
    void expand__binds_arrays_as_single_values() {
        Object[] names = {"a", "b"};
        long[] ids = {1L, 2L};
        NamedSql sql = NamedSql.parse("select * from t where name = any(:names) and id = any(:ids)", PG);

        List<Object> pieces = sql.expand(Map.of("names", names, "ids", ids));

        assertThat(pieces).containsExactly(
                "select * from t where name = any(", new Bind("names", names),
                ") and id = any(", new Bind("ids", ids), ")");
        assertThat(((Bind) pieces.get(3)).value()).isSameAs(ids);
    }

    @Test
    void expand__binds_a_null_value() {
        var params = new HashMap<String, Object>();
        params.put("x", null);

        assertThat(NamedSql.parse("select :x", PG).expand(params)).containsExactly("select ", new Bind("x", null));
    }

    @Test
    void expand__accepts_an_empty_map_for_sql_without_parameters() {
        NamedSql sql = NamedSql.parse("select ':x' -- :y", PG);

        assertThat(sql.parameterNames()).isEmpty();
        assertThat(sql.expand(Map.of())).containsExactly("select ':x' -- :y");
        assertThat(NamedSql.parse("", MYSQL).expand(Map.of())).isEmpty();
    }

    @Test
    void expand__can_be_called_repeatedly_with_different_values() {
        NamedSql sql = NamedSql.parse("select :x", PG);

        assertThat(sql.expand(Map.of("x", 1))).containsExactly("select ", new Bind("x", 1));
        assertThat(sql.expand(Map.of("x", List.of(2, 3))))
                .containsExactly("select ", new Bind("x", 2), ", ", new Bind("x", 3));
        assertThat(sql.expand(Map.of("x", 1))).containsExactly("select ", new Bind("x", 1));
    }

    @Test
    void expand__returns_an_unmodifiable_list() {
        List<Object> pieces = NamedSql.parse("select :x", PG).expand(Map.of("x", 1));

        assertThatThrownBy(() -> pieces.add("more")).isInstanceOf(UnsupportedOperationException.class);
    }

    // --- argument errors ---

    @Test
    void expand__rejects_a_missing_value() {
        NamedSql sql = NamedSql.parse("select * from t where id = :id and name = :name", PG);

        assertThatIllegalArgumentException()
                .isThrownBy(() -> sql.expand(Map.of("id", 1)))
                .withMessage("missing value for SQL parameter :name");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> sql.expand(Map.of()))
                .withMessage("missing values for SQL parameters :id, :name");
    }

    @Test
    void expand__rejects_a_key_the_sql_does_not_use() {
        NamedSql sql = NamedSql.parse("select * from t where id = :id and name = :name", PG);

        assertThatIllegalArgumentException()
                .isThrownBy(() -> sql.expand(Map.of("id", 1, "name", "n", "idd", 2)))
                .withMessage("parameter :idd is not used in the SQL (its parameters are :id, :name)");
        var extraKeys = new LinkedHashMap<String, Object>(Map.of("id", 1, "name", "n"));
        extraKeys.put("z", 2);
        extraKeys.put("b", 3);
        assertThatIllegalArgumentException()
                .isThrownBy(() -> sql.expand(extraKeys))
                .withMessage("parameters :b, :z are not used in the SQL (its parameters are :id, :name)");
    }

    @Test
    void expand__reports_a_misspelt_key_as_both_missing_and_unused() {
        NamedSql sql = NamedSql.parse("select * from t where id = :id and name = :name", PG);

        assertThatIllegalArgumentException()
                .isThrownBy(() -> sql.expand(Map.of("id", 1, "nmae", "n")))
                .withMessage("missing value for SQL parameter :name;"
                        + " parameter :nmae is not used in the SQL (its parameters are :id, :name)");
    }

    @Test
    void expand__rejects_keys_when_the_sql_has_no_parameters() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> NamedSql.parse("select ':x'", PG).expand(Map.of("x", 1)))
                .withMessage("parameter :x is not used in the SQL (it has no parameters)");
    }

    @Test
    void expand__rejects_a_key_written_with_a_colon() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> NamedSql.parse("select :id", PG).expand(Map.of(":id", 1)))
                .withMessage("parameter names are given without ':': use \"id\", not \":id\"");
    }

    @Test
    void expand__rejects_a_null_key() {
        var params = new HashMap<String, Object>();
        params.put("id", 1);
        params.put(null, 2);

        assertThatIllegalArgumentException()
                .isThrownBy(() -> NamedSql.parse("select :id", PG).expand(params))
                .withMessage("params contains a null parameter name");
    }

    @Test
    void expand__rejects_null_params() {
        assertThatNullPointerException()
                .isThrownBy(() -> NamedSql.parse("select 1", PG).expand(null))
                .withMessage("params == null");
    }

    @Test
    void parse__rejects_null_arguments() {
        assertThatNullPointerException().isThrownBy(() -> NamedSql.parse(null, PG)).withMessage("sql == null");
        assertThatNullPointerException()
                .isThrownBy(() -> NamedSql.parse("select 1", null))
                .withMessage("dialect == null");
    }

    // --- unterminated constructs ---

    @Test
    void parse__rejects_unterminated_strings_with_their_offset() {
        assertUnterminated("select 'abc", PG, "string literal", 7);
        assertUnterminated("select 'it''s", PG, "string literal", 7);
        assertUnterminated("select 'it\\'s'", PG, "string literal", 13);
        assertUnterminated("select E'it\\'s", PG, "escape string literal", 7);
        assertUnterminated("select 'a\\'b', 'c", MYSQL, "string literal", 15);
        assertUnterminated("select \"a\\\"", MYSQL, "string literal", 7);
    }

    @Test
    void parse__rejects_unterminated_quoted_identifiers_with_their_offset() {
        assertUnterminated("select \"abc", PG, "quoted identifier", 7);
        assertUnterminated("select `a``bc", MYSQL, "quoted identifier", 7);
    }

    @Test
    void parse__rejects_unterminated_dollar_quotes_with_their_offset() {
        assertUnterminated("select $$ body", PG, "dollar-quoted string $$", 7);
        assertUnterminated("select $fn$ body $$ $Fn$", PG, "dollar-quoted string $fn$", 7);
    }

    @Test
    void parse__rejects_unterminated_block_comments_with_their_offset() {
        assertUnterminated("select /* a /* b */ c", PG, "block comment", 7);
        assertUnterminated("select 1 /* a *", MYSQL, "block comment", 9);
        assertUnterminated("select 1 /*/", MYSQL, "block comment", 9);
    }

    // --- property ---

    @Test
    void parse__round_trips_random_sql() {
        var random = new Random(42);
        for (int iteration = 0; iteration < 500; iteration++) {
            Dialect dialect = random.nextBoolean() ? PG : MYSQL;
            var sql = new StringBuilder();
            var expected = new StringBuilder();
            var parameters = new ArrayList<String>();
            int fragments = random.nextInt(12);
            for (int i = 0; i < fragments; i++) {
                Fragment fragment = randomFragment(random, dialect);
                String separator = pick(random, " ", "\n", "\t", "  ");
                sql.append(fragment.sql()).append(separator);
                expected.append(fragment.expected()).append(separator);
                parameters.addAll(fragment.parameters());
            }
            String description = dialect + ": " + sql;

            NamedSql parsed = NamedSql.parse(sql.toString(), dialect);
            var values = new LinkedHashMap<String, Object>();
            parameters.forEach(name -> values.put(name, bind(name).value()));
            List<Object> pieces = parsed.expand(values);

            assertThat(parsed.parameterNames()).as(description).containsExactlyElementsOf(values.keySet());
            assertThat(pieces).as(description)
                    .filteredOn(Bind.class::isInstance)
                    .containsExactlyElementsOf(parameters.stream().map(NamedSqlTest::bind).toList());
            assertThat(render(pieces)).as(description).isEqualTo(expected.toString());
            for (int i = 0; i < pieces.size(); i++) {
                boolean text = pieces.get(i) instanceof String;
                assertThat(text && (pieces.get(i).equals("") || i > 0 && pieces.get(i - 1) instanceof String))
                        .as("%s: empty or unmerged text at piece %d of %s", description, i, pieces)
                        .isFalse();
            }
        }
    }

    /** SQL text, the text expected back from the pieces with each bind written as {@code :name}, and its binds. */
    private record Fragment(String sql, String expected, List<String> parameters) {
        static Fragment text(String sql) {
            return new Fragment(sql, sql, List.of());
        }

        /** Each {@code @} in {@code template} is the parameter {@code name}. */
        static Fragment parameters(String template, String name) {
            String sql = template.replace("@", name);
            int count = (int) template.chars().filter(c -> c == '@').count();
            return new Fragment(sql, sql, Collections.nCopies(count, name));
        }
    }

    private static final String[] NAMES = {"id", "name", "ids", "p_1", "_x", "Tenant", "a"};

    private static Fragment randomFragment(Random random, Dialect dialect) {
        String name = pick(random, NAMES);
        String fake = ":" + pick(random, NAMES);
        String questions = pick(random, "d ? 'k'", "d ?| k", "d ?& k", "d ?? k");
        var choices = new ArrayList<>(List.of(
                Fragment.text(pick(random, "select", "t.col_1", "42", "<>", "a[1:2]", "x := 1", "$1", ": y", "a$")),
                Fragment.text(pick(random, "'x'::text", "a::int", "b :: int")),
                Fragment.parameters(pick(random, ":@", "(:@)", "x=:@", ",:@", ":@::bigint", "a[:@]", ":@:@"), name),
                new Fragment(questions, dialect == PG ? questions.replace("?", "??") : questions, List.of()),
                Fragment.text("'it''s " + fake + " ? -- /* $$'"),
                Fragment.text("-- " + fake + " 'x ? /*\n"),
                Fragment.text("/* " + fake + " ? ' \" */")));
        if (dialect == PG) {
            choices.addAll(List.of(
                    Fragment.text("--" + fake + "?\n"),
                    Fragment.text("/* a /* " + fake + " ? */ 'b */"),
                    Fragment.text("E'it\\'s " + fake + " ?'"),
                    Fragment.text("'C:\\'"),
                    Fragment.text("\"col " + fake + " ? \"\"q\"\"\""),
                    Fragment.text("$$ " + fake + " ' ? $$"),
                    Fragment.text("$fn$ " + fake + " $$ " + fake + " $$ ? $fn$"),
                    Fragment.text("$a$ $b$ " + fake + " $b$ $a$"),
                    Fragment.text("foo$bar$ # 1")));
        } else {
            choices.addAll(List.of(
                    Fragment.text("`col " + fake + " ``q`` ?`"),
                    Fragment.text("# " + fake + " ?\n"),
                    Fragment.text("'it\\'s " + fake + "'"),
                    Fragment.text("\"dq \\\" " + fake + " ''\""),
                    Fragment.text("\"a\"\"b " + fake + "\""),
                    Fragment.text("/* a /* " + fake + " */"),
                    Fragment.text("$a$"),
                    Fragment.parameters("1--:@", name)));
        }
        return choices.get(random.nextInt(choices.size()));
    }

    private static String pick(Random random, String... options) {
        return options[random.nextInt(options.length)];
    }

    /** The pieces written back as SQL, each bind as {@code :name}. */
    private static String render(List<Object> pieces) {
        var sql = new StringBuilder();
        for (Object piece : pieces) {
            sql.append(piece instanceof Bind bind ? ":" + bind.name() : piece);
        }
        return sql.toString();
    }

    // --- helpers ---

    /** Parses and expands {@code sql}, giving each parameter the value of {@link #bind(String)}. */
    private static List<Object> pieces(String sql, Dialect dialect) {
        NamedSql parsed = NamedSql.parse(sql, dialect);
        var values = new HashMap<String, Object>();
        parsed.parameterNames().forEach(name -> values.put(name, bind(name).value()));
        return parsed.expand(values);
    }

    private static Bind bind(String name) {
        return new Bind(name, name + "-value");
    }

    private static void assertUnterminated(String sql, Dialect dialect, String what, int offset) {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> NamedSql.parse(sql, dialect))
                .withMessage("unterminated %s starting at offset %d in SQL: %s", what, offset, sql);
    }
}
