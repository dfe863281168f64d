// flowgate test stub: the two settings PostgresIndexQueryBuilder reads (both on, as Conductor's defaults).
package com.netflix.conductor.postgres.config;

public class PostgresProperties {
    public boolean getAllowFullTextQueries() {
        return true;
    }

    public boolean getAllowJsonQueries() {
        return true;
    }
}
