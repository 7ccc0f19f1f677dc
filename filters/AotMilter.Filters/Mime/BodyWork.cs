namespace AotMilter.Filters.Mime;

/// <summary>
/// Where a filter's end-of-message work on a collected body runs. That work (parse, decode, match, rewrite) grows
/// with the body, and on the event loop it would hold every other connection of that loop as long: rewriting a
/// 10 MiB quoted-printable text takes about a quarter of a second. A body of up to <see cref="InlineBytes"/> is
/// handled in the callback, where it takes at most about 2 ms (measured: quoted-printable, the slowest) and most mail
/// never leaves the loop's thread; a larger one is handled on the thread pool, while the loop serves its other
/// connections (the connection itself waits, and the MTA gets progress replies).
/// </summary>
internal static class BodyWork
{
    /// <summary>One milter body chunk: most mail fits in it.</summary>
    public const int InlineBytes = 64 * 1024;

    public static bool FitsInline(int bodyLength) => bodyLength <= InlineBytes;

    /// <summary>
    /// Runs <paramref name="work"/> on <paramref name="state"/> where a body of <paramref name="bodyLength"/> bytes
    /// belongs: in the callback or on the thread pool. Give a static lambda and the filter's arguments as the state
    /// (a value tuple): the inline path then allocates nothing, and the editor's calls stay in the filter's own code,
    /// where the generator reads them.
    /// </summary>
    public static ValueTask<Verdict> RunAsync<TState>(int bodyLength, TState state, Func<TState, Verdict> work)
        => FitsInline(bodyLength)
            ? new ValueTask<Verdict>(work(state))
            : new ValueTask<Verdict>(OnThreadPool(state, work));

    // A method of its own, so that the closure is allocated only for a body that goes to the thread pool.
    private static Task<Verdict> OnThreadPool<TState>(TState state, Func<TState, Verdict> work)
        => Task.Run(() => work(state));
}
