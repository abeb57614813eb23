package dev.sqlservice;

/**
 * The switches of saveAll's COPY path ({@link PostgresBackend.Statements}' statics) as a test sets them, and what
 * they were before, to put back after it. They are global: a class that sets a {@code beforeTextAhead} hook, which
 * would act on other classes' calls too, runs {@code @Isolated}.
 */
final class CopyKnobs {
    private final int copyRows = PostgresBackend.Statements.copyRows;
    private final int copyRowsPerStatement = PostgresBackend.Statements.copyRowsPerStatement;
    private final boolean copyTextAhead = PostgresBackend.Statements.copyTextAhead;

    private CopyKnobs() {}

    /** Sends every statement's rows by COPY, {@code rowsPerStatement} rows a statement; returns the settings before. */
    static CopyKnobs everyStatementByCopy(int rowsPerStatement) {
        CopyKnobs before = new CopyKnobs();
        PostgresBackend.Statements.copyRows = 1;
        PostgresBackend.Statements.copyRowsPerStatement = rowsPerStatement;
        return before;
    }

    /** Puts back the settings from before, and removes any {@code beforeTextAhead} hook. */
    void restore() {
        PostgresBackend.Statements.copyRows = copyRows;
        PostgresBackend.Statements.copyRowsPerStatement = copyRowsPerStatement;
        PostgresBackend.Statements.copyTextAhead = copyTextAhead;
        PostgresBackend.Statements.beforeTextAhead = null;
    }
}
