using System.Text;

namespace AotMilter.Protocol;

/// <summary>
/// How Postfix and Sendmail apply a milter's header edits to their header list (see <see cref="HeaderEditStyle"/>):
/// which position an add, insert or change touches, and what an empty value or a missing field means. One
/// implementation for every list that replays edits: the daemon's chain copy and the test kit's MTA models.
/// Generic over the list so a struct or sealed list is called without interface dispatch; nothing allocates here.
/// </summary>
public static class HeaderEdits
{
    /// <summary>Applies a header modification (h, i, m); false, and nothing done, for any other kind.</summary>
    public static bool Apply<TList>(TList list, HeaderEditStyle style, MilterModification modification)
        where TList : IHeaderEditList
    {
        switch (modification.Kind)
        {
            case MilterResponse.AddHeader:
                Add(list, style, modification.Name, modification.Value);
                return true;
            case MilterResponse.InsertHeader:
                Insert(list, style, modification.Index, modification.Name, modification.Value);
                return true;
            case MilterResponse.ChangeHeader:
                Change(list, style, modification.Index, modification.Name, modification.Value);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Add header (<c>h</c>).</summary>
    public static void Add<TList>(TList list, HeaderEditStyle style, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        where TList : IHeaderEditList
    {
        if (style == HeaderEditStyle.Sendmail)
        {
            int first = -1;
            for (int i = 0; i < list.Count; i++)
            {
                if (!SameName(list.NameAt(i), name))
                {
                    continue;
                }

                if (list.OriginAt(i) == HeaderOrigin.Generated)
                {
                    list.Replace(i, name, value);
                    return;
                }

                if (first < 0)
                {
                    first = i;
                }
            }

            if (first >= 0)
            {
                list.Insert(first, name, value);
                return;
            }
        }

        list.Insert(list.Count, name, value);
    }

    /// <summary>Insert header (<c>i</c>) at <paramref name="index"/>; past the end it appends.</summary>
    public static void Insert<TList>(TList list, HeaderEditStyle style, uint index, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        where TList : IHeaderEditList
    {
        list.Insert(InsertPosition(list.Count, style, index), name, value);
    }

    /// <summary>The list position an insert at <paramref name="index"/> goes to in a list of <paramref name="count"/> entries.</summary>
    public static int InsertPosition(int count, HeaderEditStyle style, uint index)
    {
        if (index >= (uint)count)
        {
            return count;
        }

        // Sendmail inserts after the index-th entry; Postfix before it.
        return style == HeaderEditStyle.Sendmail ? (int)index + 1 : (int)index;
    }

    /// <summary>
    /// Change header (<c>m</c>): the <paramref name="index"/>-th field of <paramref name="name"/> gets
    /// <paramref name="value"/>; an empty value deletes it. A field that does not exist is added (or, when deleting,
    /// nothing happens).
    /// </summary>
    public static void Change<TList>(TList list, HeaderEditStyle style, uint index, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        where TList : IHeaderEditList
    {
        int position = FindChangeTarget(list, style, index, name);
        if (position < 0)
        {
            if (!value.IsEmpty)
            {
                Add(list, style, name, value);
            }
        }
        else if (value.IsEmpty)
        {
            list.Remove(position);
        }
        else
        {
            list.Replace(position, name, value);
        }
    }

    /// <summary>The position a change of the <paramref name="index"/>-th <paramref name="name"/> touches; -1 when none.</summary>
    public static int FindChangeTarget<TList>(TList list, HeaderEditStyle style, uint index, ReadOnlySpan<byte> name)
        where TList : IHeaderEditList
    {
        // Both MTAs take index 0 as the first field.
        uint wanted = Math.Max(index, 1u);
        int generated = -1;
        for (int i = 0; i < list.Count; i++)
        {
            HeaderOrigin origin = list.OriginAt(i);
            if (origin == HeaderOrigin.Trace || !SameName(list.NameAt(i), name))
            {
                continue;
            }

            if (style == HeaderEditStyle.Sendmail && origin == HeaderOrigin.Generated)
            {
                generated = i;
                continue;
            }

            if (--wanted == 0)
            {
                return i;
            }
        }

        return style == HeaderEditStyle.Sendmail ? generated : -1;
    }

    // Header names are ASCII; an 8-bit name still matches itself.
    private static bool SameName(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        => a.Length == b.Length && (Ascii.EqualsIgnoreCase(a, b) || a.SequenceEqual(b));
}
