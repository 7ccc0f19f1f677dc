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
}
