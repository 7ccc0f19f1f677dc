namespace AotMilter.Generators.Model;

/// <summary>A referenced assembly that carries [assembly: MilterCatalog(typeof(T))]: T and the filter names it lists.</summary>
internal sealed record ReferencedCatalog(string AssemblyName, string TypeName, EquatableArray<string> FilterNames);
