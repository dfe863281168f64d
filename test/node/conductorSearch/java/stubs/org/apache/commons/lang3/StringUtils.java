// flowgate test stub (not Apache Commons' code): the one method the query builders call.
package org.apache.commons.lang3;

public final class StringUtils {
    private StringUtils() {}

    public static boolean isEmpty(CharSequence cs) {
        return cs == null || cs.length() == 0;
    }
}
