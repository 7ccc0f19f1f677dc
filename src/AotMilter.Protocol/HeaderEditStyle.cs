namespace AotMilter.Protocol;

/// <summary>Whose rules a header list follows when a milter adds, inserts, changes or deletes header fields.</summary>
public enum HeaderEditStyle
{
    /// <summary>cleanup(8): add appends; insert index counts the whole list (its own Received: is index 0);
    /// change counts the fields the milter saw, 0 is taken as 1, and a deleted field is gone.</summary>
    Postfix,

    /// <summary>headers.c/milter.c: add takes the place of a generated field of that name, else goes before the first
    /// field of that name; insert goes after the index-th entry; change counts the client's fields with deleted ones
    /// kept, and falls back to a generated field of that name.</summary>
    Sendmail,
}
