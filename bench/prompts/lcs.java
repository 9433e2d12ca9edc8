public class LongestCommonSubsequence {

    /** Length of the longest common subsequence of a and b. */
    public static int length(String a, String b) {
