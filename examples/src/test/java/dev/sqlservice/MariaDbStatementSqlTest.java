package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link MariaDbBackend#statementSql} finds a statement's first keyword by comparing in place (it runs for every
 * statement); it wraps exactly the statements a regular expression (the rule it replaced, widened after the
 * review in docs/reviews/mariadb-statements.md: {@code VALUES}, {@code CALL}, {@code CREATE}, executable
 * comments, and the {@code group_concat} limit on writes too) wraps, as it does.
 */
class MariaDbStatementSqlTest {

    /** The rule: a regular expression after {@link Backend#keywordStart} and any executable comment's marker. */
    private static final Pattern QUERY_OR_WRITE = Pattern.compile(
            "(?:/\\*M?![0-9]*\\s*)?[\\s(]*(select|insert|update|delete|replace|with|values|call|create)(?![A-Za-z0-9_])",
            Pattern.CASE_INSENSITIVE);

    private static String reference(String sql, int maxRows) {
        int start = Backend.keywordStart(sql, true);
        Matcher m = QUERY_OR_WRITE.matcher(sql).region(start, sql.length());
        if (!m.lookingAt()) {
            return sql;
        }
        String keyword = m.group(1).toLowerCase(java.util.Locale.ROOT);
        boolean query = keyword.equals("select") || keyword.equals("with") || keyword.equals("values");
        return "set statement time_zone = '+00:00', group_concat_max_len = 1073741824"
                + (maxRows > 0 && query ? ", sql_select_limit = " + maxRows : "") + " for " + sql;
    }

    @Test
    void wraps_what_the_regular_expression_wrapped() {
        List<String> statements = List.of("select 1", "SELECT 1", "Select\t1", "  select 1", "((select 1)) union (select 2)",
                "/* a comment */ select 1", "-- a comment\nselect 1", "# a comment\nselect 1", "/*!50000 select 1 */",
                "with t as (select 1) select * from t", "WITH RECURSIVE t as (select 1) select * from t",
                "insert into t values (1)", "update t set a = 1", "delete from t", "replace into t values (1)",
                "select(1)", "select`a`from t", "selection", "select_x", "select1", "withdraw", "inserts", "show tables",
                "set @a = 1", "call p()", "do 1", "", " ", "(", "-- only a comment", "/* open", "select", "with",
                "explain select 1", "values (1)", "table t", "/*M!100000 select 1 */", "/*!select 1*/", "create table t as select 1",
                "CALL p()", "valuesx", "ſelect 1", "selectä from t", "update\u0663 t", "lock tables t read", "selectselect", "update", "delete");
        for (String sql : statements) {
            for (int maxRows : new int[] {0, 1, 250}) {
                assertThat(MariaDbBackend.MARIADB.statementSql(sql, maxRows)).as("%s, maxRows %d", sql, maxRows)
                        .isEqualTo(reference(sql, maxRows));
            }
            assertThat(MariaDbBackend.MYSQL.statementSql(sql, 5)).as("MySQL: %s", sql).isSameAs(sql);
        }
    }
}
