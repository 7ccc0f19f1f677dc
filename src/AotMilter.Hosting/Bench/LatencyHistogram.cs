using System.Numerics;

namespace AotMilter.Hosting.Bench;

/// <summary>
/// Latencies in microseconds, counted into log-linear buckets (exact below 256 µs, within 0.4 % above), so that
/// recording is one interlocked increment and memory stays fixed however long the run. Percentiles use the same rank
/// as milter-load: the value at index (n - 1) * p / 100 of the sorted samples.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 8;
    private const int SubBuckets = 1 << SubBucketBits;   // 256 exact values, then 128 buckets per power of two
    private const int HalfSubBuckets = SubBuckets / 2;
    private const int MaxShift = 40;

    private readonly long[] _counts = new long[SubBuckets + (MaxShift * HalfSubBuckets)];
    private long _count;
    private long _sum;
    private long _max;

    public long Count => Interlocked.Read(ref _count);

    public long Max => Interlocked.Read(ref _max);

    public double Average => Count == 0 ? 0 : (double)Interlocked.Read(ref _sum) / Count;

    public void Record(long microseconds)
    {
        if (microseconds < 0)
        {
            microseconds = 0;
        }

        Interlocked.Increment(ref _counts[Index(microseconds)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sum, microseconds);
        long max = Interlocked.Read(ref _max);
        while (microseconds > max)
        {
            long seen = Interlocked.CompareExchange(ref _max, microseconds, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>The sample of rank (n - 1) * <paramref name="percent"/> / 100, to the bucket's precision.</summary>
    public long Percentile(int percent)
    {
        long n = Count;
        if (n == 0)
        {
            return 0;
        }

        long rank = (n - 1) * percent / 100;
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen > rank)
            {
                return Math.Min(Representative(i), Max);
            }
        }

        return Max;
    }

    private static int Index(long v)
    {
        if (v < SubBuckets)
        {
            return (int)v;
        }

        int msb = 63 - BitOperations.LeadingZeroCount((ulong)v);
        int shift = Math.Min(msb - (SubBucketBits - 1), MaxShift);
        long sub = Math.Min(v >> shift, SubBuckets - 1);
        return SubBuckets + ((shift - 1) * HalfSubBuckets) + (int)(sub - HalfSubBuckets);
    }

    /// <summary>The middle of bucket <paramref name="index"/>.</summary>
    private static long Representative(int index)
    {
        if (index < SubBuckets)
        {
            return index;
        }

        int shift = ((index - SubBuckets) / HalfSubBuckets) + 1;
        long sub = ((index - SubBuckets) % HalfSubBuckets) + HalfSubBuckets;
        return (sub << shift) + ((1L << shift) / 2);
    }
}
