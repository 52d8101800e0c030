// A CPU-bound Java workload for Brasa's JIT tests (cli/tests/jit_runtimes.rs):
// `main` calls `brasaFixtureHot` and `brasaFixtureCold`, which do about ten
// times and one time the same work, for the seconds given (default 3).
public class Busy {
    static long brasaFixtureHot(int n) {
        long s = 0;
        for (int i = 0; i < n; i++) {
            s = (s + (long) i * i) % 1000003;
        }
        return s;
    }

    static long brasaFixtureCold(int n) {
        long s = 0;
        for (int i = 0; i < n; i++) {
            s = (s + (long) i * i) % 1000003;
        }
        return s;
    }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
        long end = System.nanoTime() + (long) (seconds * 1e9);
        long total = 0;
        while (System.nanoTime() < end) {
            total += brasaFixtureHot(100000);
            total += brasaFixtureCold(10000);
        }
        System.out.println("brasa java workload done: " + total);
    }
}
