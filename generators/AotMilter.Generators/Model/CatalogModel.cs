namespace AotMilter.Generators.Model;

/// <summary>
/// The assembly's catalog: its namespace and its filters sorted by name (a filter whose name is already taken is
/// left out and reported).
/// </summary>
internal sealed record CatalogModel(string Namespace, EquatableArray<CatalogEntry> Entries, EquatableArray<DiagnosticInfo> Diagnostics);
