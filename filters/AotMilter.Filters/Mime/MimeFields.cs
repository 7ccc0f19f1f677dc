namespace AotMilter.Filters.Mime;

/// <summary>The message's own MIME fields as a filter collects them from the MTA's header events.</summary>
internal static class MimeFields
{
    /// <summary>
    /// Adds the field unless one of that name is there already: the parser reads only the first of each, and keeping
    /// only it bounds the list however often a sender repeats a field.
    /// </summary>
    public static void AddFirst(List<KeyValuePair<string, string>> fields, string name, string value)
    {
        foreach (KeyValuePair<string, string> field in fields)
        {
            if (field.Key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return;
            }
        }

        fields.Add(new(name, value));
    }
}
