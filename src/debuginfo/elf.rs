//! The ELF object of a debug image, written with the `object` crate's ELF
//! writer: `.text` as `NOBITS` at the code's real address (the bytes are
//! in memory already; a debugger reads them there), a function symbol per
//! piece of code, and the DWARF sections.

use object::elf;
use object::write::elf::{FileHeader, SectionHeader, SectionIndex, Sym, Writer};
use object::write::StringId;
use object::Endianness;

use super::dwarf::Section;
use crate::artifact::CodeMap;

/// The object for the code of `map` at `base`, with `sections`.
pub(crate) fn object(map: &CodeMap, base: u64, sections: &[Section]) -> Vec<u8> {
    let symbols: Vec<_> = map.symbols().into_iter().filter(|s| s.size > 0).collect();
    let mut out = Vec::new();
    let mut writer = Writer::new(Endianness::Little, true, &mut out);

    writer.reserve_file_header();
    let text_name = writer.add_section_name(b".text");
    let names: Vec<StringId> = sections
        .iter()
        .map(|s| writer.add_section_name(s.name.as_bytes()))
        .collect();
    writer.reserve_null_section_index();
    let text = writer.reserve_section_index();
    let indices: Vec<SectionIndex> = sections.iter().map(|_| writer.reserve_section_index()).collect();
    writer.reserve_symtab_section_index();
    writer.reserve_strtab_section_index();
    writer.reserve_shstrtab_section_index();
    let offsets: Vec<usize> = sections.iter().map(|s| writer.reserve(s.data.len(), 1)).collect();

    writer.reserve_null_symbol_index();
    let symbol_names: Vec<StringId> = symbols
        .iter()
        .map(|s| {
            writer.reserve_symbol_index(Some(text));
            writer.add_string(s.name.as_bytes())
        })
        .collect();
    writer.reserve_symtab();
    writer.reserve_strtab();
    writer.reserve_shstrtab();
    writer.reserve_section_headers();

    writer
        .write_file_header(&FileHeader {
            os_abi: elf::ELFOSABI_NONE,
            abi_version: 0,
            e_type: elf::ET_REL,
            e_machine: elf::EM_X86_64,
            e_entry: 0,
            e_flags: 0,
        })
        .expect("an ELF header");
    for section in sections {
        writer.write(&section.data);
    }
    writer.write_null_symbol();
    for (symbol, &name) in symbols.iter().zip(&symbol_names) {
        writer.write_symbol(&Sym {
            name: Some(name),
            section: Some(text),
            st_info: (elf::STB_GLOBAL << 4) | elf::STT_FUNC,
            st_other: elf::STV_DEFAULT,
            st_shndx: 0,
            // Relative to `.text`, as in any relocatable object.
            st_value: symbol.offset as u64,
            st_size: symbol.size as u64,
        });
    }
    writer.write_strtab();
    writer.write_shstrtab();

    writer.write_null_section_header();
    writer.write_section_header(&SectionHeader {
        name: Some(text_name),
        sh_type: elf::SHT_NOBITS,
        sh_flags: (elf::SHF_ALLOC | elf::SHF_EXECINSTR).into(),
        sh_addr: base,
        sh_offset: 0,
        sh_size: map.code_len as u64,
        sh_link: 0,
        sh_info: 0,
        sh_addralign: 16,
        sh_entsize: 0,
    });
    for ((section, &name), &offset) in sections.iter().zip(&names).zip(&offsets) {
        writer.write_section_header(&SectionHeader {
            name: Some(name),
            sh_type: elf::SHT_PROGBITS,
            sh_flags: 0,
            sh_addr: 0,
            sh_offset: offset as u64,
            sh_size: section.data.len() as u64,
            sh_link: 0,
            sh_info: 0,
            sh_addralign: 1,
            sh_entsize: 0,
        });
    }
    let _ = indices;
    // Only the null symbol is local.
    writer.write_symtab_section_header(1);
    writer.write_strtab_section_header();
    writer.write_shstrtab_section_header();
    out
}
