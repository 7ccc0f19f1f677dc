namespace AotMilter.Filters.Disclaimer;

/// <summary>Bytes <see cref="Start"/>..<see cref="End"/> of the original body replaced by <see cref="Bytes"/> (an insertion when they are equal).</summary>
internal readonly record struct BodyEdit(int Start, int End, byte[] Bytes);
