// flowgate test stub (not Elasticsearch's code): the factory methods Conductor's query parser calls, each
// recording what it was asked for, so a test can read the filter a query string becomes.
package org.elasticsearch.index.query;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

public final class QueryBuilders {
    private QueryBuilders() {}

    static String str(Object o) {
        if (o == null) return "null";
        StringBuilder sb = new StringBuilder("\"");
        for (char c : o.toString().toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }

    static QueryBuilder leaf(String json) {
        return () -> json;
    }

    public static QueryBuilder queryStringQuery(String query) {
        return leaf("{\"query_string\":" + str(query) + "}");
    }

    public static QueryBuilder prefixQuery(String name, String prefix) {
        return leaf("{\"prefix\":{\"field\":" + str(name) + ",\"value\":" + str(prefix) + "}}");
    }

    public static QueryBuilder termsQuery(String name, Collection<?> values) {
        List<String> out = new ArrayList<>();
        for (Object v : values) out.add(str(v));
        return leaf("{\"terms\":{\"field\":" + str(name) + ",\"values\":[" + String.join(",", out) + "]}}");
    }

    public static QueryBuilder matchAllQuery() {
        return leaf("{\"match_all\":{}}");
    }

    public static QueryBuilder existsQuery(String name) {
        return leaf("{\"exists\":" + str(name) + "}");
    }

    public static RangeQueryBuilder rangeQuery(String name) {
        return new RangeQueryBuilder(name);
    }

    public static BoolQueryBuilder boolQuery() {
        return new BoolQueryBuilder();
    }
}
